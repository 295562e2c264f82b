"""Exports: every format read back by the importer gives the same items and labels; the CSV
formula guard; the certificate's hash; expired links; incremental exports; usage counted once;
another tenant's export is not found."""

import csv
import hashlib
import io
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from billing.models import DailyUsage
from exports import query, services
from exports.models import Export
from labeling.imports.services import import_job_create
from labeling.models import Annotation, AnnotatorKind, Item
from tenancy import services as tenancy_services
from tenancy.models import Role

from ..conftest import IMPORT_DATABASES
from ..factories import AnnotationFactory, AnnotatorFactory, ExportFactory, ItemFactory

pytestmark = pytest.mark.django_db(databases=IMPORT_DATABASES)

LABELS = ["cat", "dog", "bird"]


def labeled_project(world, name="Export source", task_type="classification", labels=LABELS):
    """Five complete items with final labels, annotations, a pre-label and a gold label, and
    one open item (not exported by default)."""
    project = tenancy_services.project_create(
        organization=world.a.organization, name=name, labels=labels, task_type=task_type
    )
    people = [
        AnnotatorFactory(organization=project.organization, kind=AnnotatorKind.EXTERNAL, name=n)
        for n in ("vendorB/alice", "vendorB/bob")
    ]
    multi = task_type == "multilabel"
    for n in range(5):
        label = [labels[n % 3], labels[(n + 1) % 3]] if multi else labels[n % 3]
        item = ItemFactory(
            dataset__project=project,
            external_id=f"item-{n}",
            data={"text": f'Picture {n}, a tab\there and a quote " and é', "n": n},
            status="complete",
            label=label,
            confidence=0.5 + n / 10,
            completed_at=timezone.now(),
            labeled_at=timezone.now(),
            prelabel=label if n == 2 else None,
            prelabel_confidence=0.9 if n == 2 else None,
            gold_label=label if n == 4 else None,
        )
        for person in people:
            AnnotationFactory(item=item, annotator=person, label=label)
    ItemFactory(dataset__project=project, external_id="still-open")
    return project


def run_export(project, user, fmt, capture, **options) -> Export:
    with capture(execute=True):
        export = services.export_create(project=project, user=user, format=fmt, **options)
    export.refresh_from_db()
    assert export.status == "succeeded", export.message
    return export


def content(export) -> bytes:
    with export.file.open("rb") as handle:
        return handle.read()


def reimport(world, export, capture, **project_options):
    target = tenancy_services.project_create(
        organization=world.a.organization,
        name=f"Target of {export.pk}",
        labels=project_options.pop("labels", LABELS),
        **project_options,
    )
    name = export.file.name.rsplit("/", 1)[-1]
    with capture(execute=True):
        job = import_job_create(
            project=target, upload=SimpleUploadedFile(name, content(export)), created_by=None
        )
    job.refresh_from_db()
    assert job.status == "succeeded", job.errors
    return target


def snapshot(project):
    return {
        item.external_id: (item.data, item.label, item.status, item.gold_label, item.prelabel)
        for item in Item.objects.filter(project=project, status="complete")
    }


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "label_studio"])
def test_each_format_round_trips(world, django_capture_on_commit_callbacks, fmt):
    source = labeled_project(world)
    admin = world.users[Role.CLIENT_ADMIN]
    export = run_export(source, admin, fmt, django_capture_on_commit_callbacks)
    assert export.rows == 5
    target = reimport(world, export, django_capture_on_commit_callbacks)
    before, after = snapshot(source), snapshot(target)
    if fmt == "csv":
        # CSV cells are text: the number in `data` comes back as its digits.
        before = {
            k: ({**d, "n": str(d["n"])}, lab, st, g, p) for k, (d, lab, st, g, p) in before.items()
        }
    assert after == before
    assert Item.objects.filter(project=target).count() == 5  # the open item was not exported
    confidences = dict(Item.objects.filter(project=target).values_list("external_id", "confidence"))
    assert confidences["item-3"] == pytest.approx(0.8)
    # the annotations come along, under the same external names
    assert sorted(
        Annotation.objects.filter(project=target).values_list("annotator__name", flat=True)
    ) == sorted(["vendorB/alice", "vendorB/bob"] * 5)


def test_multilabel_round_trips_through_csv(world, django_capture_on_commit_callbacks):
    labels = ["red", "green", "blue"]
    source = labeled_project(world, name="Tags", task_type="multilabel", labels=labels)
    export = run_export(
        source, world.users[Role.OPERATOR], "csv", django_capture_on_commit_callbacks
    )
    target = reimport(
        world, export, django_capture_on_commit_callbacks, labels=labels, task_type="multilabel"
    )
    assert {k: sorted(v[1]) for k, v in snapshot(target).items()} == {
        k: sorted(v[1]) for k, v in snapshot(source).items()
    }


def test_jsonl_rows_have_the_api_fields(world, django_capture_on_commit_callbacks):
    source = labeled_project(world)
    export = run_export(
        source, world.users[Role.CLIENT_ADMIN], "jsonl", django_capture_on_commit_callbacks
    )
    rows = [orjson.loads(line) for line in content(export).splitlines()]
    assert set(rows[0]) >= {
        "id", "data", "label", "confidence", "agreement", "status", "annotations", "prelabel",
    }  # fmt: skip
    row = next(r for r in rows if r["id"] == "item-2")
    assert row["agreement"] == 1.0
    assert row["prelabel"] == {"label": "bird", "confidence": 0.9}
    assert {a["annotator"] for a in row["annotations"]} == {"vendorB/alice", "vendorB/bob"}
    assert all(a["source"] == "human" and a["created_at"] for a in row["annotations"])


def test_csv_neutralizes_formulas(world, django_capture_on_commit_callbacks):
    project = tenancy_services.project_create(
        organization=world.a.organization, name="Formulas", labels=["ok"]
    )
    evil = ["=1+1", "+SUM(A1)", "-2", "@cmd", "\tx", "\ry", "plain"]
    for n, text in enumerate(evil):
        ItemFactory(
            dataset__project=project,
            external_id=f"f{n}" if n else '=HYPERLINK("x")',
            data={"text": text},
            status="complete",
            label="ok",
        )
    export = run_export(
        project, world.users[Role.CLIENT_ADMIN], "csv", django_capture_on_commit_callbacks
    )
    rows = list(csv.DictReader(io.StringIO(content(export).decode(), newline="")))
    texts = [row["text"] for row in rows]
    assert texts == ["'=1+1", "'+SUM(A1)", "'-2", "'@cmd", "'\tx", "'\ry", "plain"]
    assert rows[0]["id"] == '\'=HYPERLINK("x")'


def test_csv_header_neutralizes_formulas(world, django_capture_on_commit_callbacks):
    """The items' data keys become the header's columns: they pass the guard too."""
    project = tenancy_services.project_create(
        organization=world.a.organization, name="Formula keys", labels=["ok"]
    )
    ItemFactory(
        dataset__project=project, data={"=cmd": "x", "text": "y"}, status="complete", label="ok"
    )
    export = run_export(
        project, world.users[Role.CLIENT_ADMIN], "csv", django_capture_on_commit_callbacks
    )
    header = content(export).decode().split("\r\n")[0]
    assert header.split(",")[:3] == ["id", "'=cmd", "text"]


def test_certificate_hash_and_figures(world, api, django_capture_on_commit_callbacks):
    source = labeled_project(world)
    export = run_export(
        source, world.users[Role.CLIENT_ADMIN], "jsonl", django_capture_on_commit_callbacks
    )
    client = api.as_user(world.users[Role.CLIENT_VIEWER])
    body = b"".join(client.get(f"/api/v1/exports/{export.pk}/download/").streaming_content)
    certificate = client.get(f"/api/v1/exports/{export.pk}/certificate/").json()
    assert certificate["sha256"] == hashlib.sha256(body).hexdigest() == export.sha256
    assert certificate["rows"] == 5 and certificate["bytes"] == len(body)
    assert certificate["consensus_method"] == "majority"
    assert certificate["krippendorff_alpha"] is not None
    assert certificate["gold_answers"] == 2 and certificate["gold_accuracy"] == 1.0
    assert certificate["project_items"] == {"open": 1, "complete": 5, "review": 0}
    detail = client.get(f"/api/v1/exports/{export.pk}/").json()
    assert detail["download_url"].endswith(f"/api/v1/exports/{export.pk}/download/")
    assert (detail["status"], detail["rows"], detail["progress"]) == ("succeeded", 5, 1.0)


def test_an_expired_link_is_refused(world, api, django_capture_on_commit_callbacks):
    export = run_export(
        labeled_project(world), world.users[Role.CLIENT_ADMIN], "jsonl",
        django_capture_on_commit_callbacks,
    )  # fmt: skip
    Export.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api.as_user(world.users[Role.CLIENT_ADMIN]).get(
        f"/api/v1/exports/{export.pk}/download/"
    )
    assert response.status_code == 410
    assert "expired" in response.json()["detail"]


def test_another_tenants_export_is_not_found(world, api):
    theirs = world.b.export
    for role in (Role.CLIENT_ADMIN, Role.CLIENT_VIEWER, Role.QA_LEAD, Role.ANNOTATOR):
        client = api.as_user(world.users[role])
        for suffix in ("", "download/", "certificate/"):
            assert client.get(f"/api/v1/exports/{theirs.pk}/{suffix}").status_code == 404
    # The workforce does not reach even its own project's exports.
    mine = world.a.export
    assert api.as_user(world.users[Role.QA_LEAD]).get(
        f"/api/v1/exports/{mine.pk}/download/"
    ).status_code == 404  # fmt: skip


def test_incremental_exports_carry_only_what_changed(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    # (no overlap with the previous snapshot here: the test knows nothing commits late)
    monkeypatch.setattr(services, "INCREMENTAL_OVERLAP", timedelta(0))
    source = labeled_project(world)
    admin = world.users[Role.CLIENT_ADMIN]
    first = run_export(source, admin, "jsonl", django_capture_on_commit_callbacks)
    assert first.rows == 5
    Item.objects.filter(project=source, external_id="item-1").update(
        label="bird", labeled_at=timezone.now()
    )
    second = run_export(
        source, admin, "jsonl", django_capture_on_commit_callbacks, incremental=True
    )
    rows = [orjson.loads(line) for line in content(second).splitlines()]
    assert [(r["id"], r["label"]) for r in rows] == [("item-1", "bird")]
    assert second.since == first.started_at


def test_filters_and_usage(world, api, django_capture_on_commit_callbacks):
    source = labeled_project(world)
    client = api.as_user(world.users[Role.CLIENT_ADMIN])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/projects/{source.pk}/exports/",
            {"format": "jsonl", "min_confidence": 0.75, "include_annotations": False},
            format="json",
        )
    assert response.status_code == 202, response.content
    body = client.get(f"/api/v1/exports/{response.json()['id']}/").json()
    assert body["status"] == "succeeded" and body["rows"] == 2  # 0.8 and 0.9
    rows = [orjson.loads(line) for line in content(Export.objects.get(pk=body["id"])).splitlines()]
    assert "annotations" not in rows[0]
    usage = DailyUsage.objects.get(project=source)
    assert usage.exported_items == 2
    # A redelivered task finds the export finished and counts nothing again.
    services.export_run(export_id=body["id"])
    assert DailyUsage.objects.get(project=source).exported_items == 2
    bad = client.post(f"/api/v1/projects/{source.pk}/exports/", {"format": "xml"}, format="json")
    assert bad.status_code == 400 and "format" in bad.json()
    viewer = api.as_user(world.users[Role.CLIENT_VIEWER])
    refused = viewer.post(f"/api/v1/projects/{source.pk}/exports/", {"format": "csv"})
    assert refused.status_code == 403


# Every annotation of the JSONL test below was made at this moment.
MADE = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_jsonl_lines_are_written_by_the_database(world, django_capture_on_commit_callbacks):
    """PostgreSQL builds each line from the stored JSON text, the annotations joined and
    grouped by item: an item with none, and one with a dissenting vote and a review decision
    (listed in the order they were made, but not a vote: 2 of 3 agree)."""
    source = labeled_project(world)
    ItemFactory(
        dataset__project=source, external_id="none-yet", status="complete", data={"text": "?"}
    )
    dissenting = Item.objects.get(project=source, external_id="item-1")  # "dog"
    for name, label, kind in (("vendorB/carol", "cat", "human"), ("qa/dan", "dog", "review")):
        AnnotationFactory(
            item=dissenting,
            annotator=AnnotatorFactory(
                organization=source.organization, kind=AnnotatorKind.EXTERNAL, name=name
            ),
            label=label,
            source=kind,
        )
    # neither the duration nor anything else of an annotation but these four goes out
    Annotation.objects.filter(project=source).update(duration_ms=1200, created_at=MADE)
    export = run_export(
        source, world.users[Role.CLIENT_ADMIN], "jsonl", django_capture_on_commit_callbacks
    )
    lines = content(export).decode().split("\n")
    assert len(lines) == 7 and lines[-1] == ""  # six items, each line ended by a newline
    # The data is the stored jsonb's own text (its spacing, its key order); the tab and the
    # quote escaped, the é as it is.
    assert lines[1] == (
        '{"id":"item-1",'
        r'"data":{"n": 1, "text": "Picture 1, a tab\there and a quote \" and é"},'
        '"label":"dog","confidence":0.6,"agreement":0.6667,"status":"complete","gold":null,'
        '"annotations":['
        '{"annotator":"vendorB/alice","label":"dog","source":"human",'
        '"created_at":"2026-03-01T12:00:00.123456Z"},'
        '{"annotator":"vendorB/bob","label":"dog","source":"human",'
        '"created_at":"2026-03-01T12:00:00.123456Z"},'
        '{"annotator":"vendorB/carol","label":"cat","source":"human",'
        '"created_at":"2026-03-01T12:00:00.123456Z"},'
        '{"annotator":"qa/dan","label":"dog","source":"review",'
        '"created_at":"2026-03-01T12:00:00.123456Z"}'
        '],"prelabel":null}'
    )
    assert lines[2] == (
        '{"id":"item-2",'
        r'"data":{"n": 2, "text": "Picture 2, a tab\there and a quote \" and é"},'
        '"label":"bird","confidence":0.7,"agreement":1.0000,"status":"complete","gold":null,'
        '"annotations":['
        '{"annotator":"vendorB/alice","label":"bird","source":"human",'
        '"created_at":"2026-03-01T12:00:00.123456Z"},'
        '{"annotator":"vendorB/bob","label":"bird","source":"human",'
        '"created_at":"2026-03-01T12:00:00.123456Z"}'
        '],"prelabel":{"label":"bird","confidence":0.9}}'
    )
    assert lines[4] == (
        '{"id":"item-4",'
        r'"data":{"n": 4, "text": "Picture 4, a tab\there and a quote \" and é"},'
        '"label":"dog","confidence":0.9,"agreement":1.0000,"status":"complete","gold":"dog",'
        '"annotations":['
        '{"annotator":"vendorB/alice","label":"dog","source":"human",'
        '"created_at":"2026-03-01T12:00:00.123456Z"},'
        '{"annotator":"vendorB/bob","label":"dog","source":"human",'
        '"created_at":"2026-03-01T12:00:00.123456Z"}'
        '],"prelabel":null}'
    )
    assert lines[5] == (
        '{"id":"none-yet","data":{"text": "?"},"label":null,"confidence":null,'
        '"agreement":null,"status":"complete","gold":null,"annotations":[],"prelabel":null}'
    )


@pytest.mark.django_db(transaction=True, databases=IMPORT_DATABASES)
def test_the_parallel_writer_gives_the_same_file(world, monkeypatch):
    """A task's export (autocommit: its own snapshot) builds ranges on several connections at
    once; the file is the same as one connection's, in the same order."""
    source = labeled_project(world)
    monkeypatch.setattr(query, "CHUNK", 2)  # 3 ranges over 2+ connections
    admin = world.users[Role.CLIENT_ADMIN]
    parallel = services.export_run(
        export_id=ExportFactory(project=source, format="jsonl", created_by=admin).pk
    )
    monkeypatch.setattr(query, "EXPORT_WORKERS", 1)
    single = services.export_run(
        export_id=ExportFactory(project=source, format="jsonl", created_by=admin).pk
    )
    assert parallel.rows == single.rows == 5
    assert content(parallel) == content(single)
    assert [orjson.loads(x)["id"] for x in content(parallel).splitlines()] == [
        f"item-{n}" for n in range(5)
    ]
