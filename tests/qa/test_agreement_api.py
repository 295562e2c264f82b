"""The agreement report through the API: figures against the krippendorff package, per-label
and per-annotator rows, filters, nulls with reasons, downloads, and the database readers."""

import csv
import io
from datetime import timedelta

import krippendorff
import numpy as np
import pytest
from django.utils import timezone

from labeling.models import Annotation, Annotator, AnnotatorKind, Item
from qa import data
from qa.models import AgreementReport
from tenancy import services as tenancy_services
from tenancy.models import Role

from ..factories import AnnotationFactory, AnnotatorFactory, ItemFactory

LABELS = ["cat", "dog", "bird"]


def external(project, name):
    return AnnotatorFactory(
        organization=project.organization, kind=AnnotatorKind.EXTERNAL, name=name
    )


def seeded_project(world, n_items=40, seed=3, names=("alice", "bob", "carol")):
    """Items labeled by three external annotators with known noise; returns the matrix the
    krippendorff package takes (annotators x items, NaN where missing)."""
    project = tenancy_services.project_create(
        organization=world.a.organization, name=f"Agreement {seed}", labels=LABELS
    )
    rng = np.random.default_rng(seed)
    annotators = [external(project, name) for name in names]
    matrix = np.full((len(names), n_items), np.nan)
    for j in range(n_items):
        item = ItemFactory(dataset__project=project, gold_label="cat" if j % 10 == 0 else None)
        truth = rng.integers(0, 3)
        for i, annotator in enumerate(annotators):
            if i == 2 and j % 7 == 0:
                continue  # carol skips some: missing values
            value = truth if rng.random() < 0.75 else rng.integers(0, 3)
            matrix[i, j] = value
            AnnotationFactory(
                item=item,
                annotator=annotator,
                label=LABELS[value],
                duration_ms=1000 * (i + 1),
            )
    return project, matrix


@pytest.fixture
def reader(world, api):
    return api.as_user(world.users[Role.CLIENT_VIEWER])


def test_figures_match_the_krippendorff_package(world, reader):
    project, matrix = seeded_project(world)
    report = reader.get(f"/api/v1/projects/{project.pk}/agreement/").json()
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert report["krippendorff_alpha"] == pytest.approx(expected, abs=1e-4)
    low, high = report["krippendorff_alpha_ci"]
    assert low < report["krippendorff_alpha"] < high
    assert report["items"] == 40
    assert report["annotations"] == int(np.isfinite(matrix).sum())
    assert report["annotators"] == 3
    assert report["fleiss_kappa"] is not None
    assert report["mean_pairwise_cohen_kappa"] is not None
    assert {row["label"] for row in report["per_label"]} == set(LABELS)
    rows = {row["annotator"]: row for row in report["per_annotator"]}
    assert set(rows) == {"alice", "bob", "carol"}
    assert rows["alice"]["annotations"] == 40
    assert rows["carol"]["median_seconds"] == 3.0
    assert rows["alice"]["gold_answered"] == 4
    assert 0 <= rows["alice"]["agreement_with_consensus"] <= 1
    assert sum(map(sum, report["confusion"]["matrix"])) == report["annotations"]
    assert report["stale"] is False


def test_undefined_figures_are_null_with_a_reason(world, reader):
    project = tenancy_services.project_create(
        organization=world.a.organization, name="Single", labels=LABELS
    )
    annotator = external(project, "solo")
    for _ in range(3):
        AnnotationFactory(
            item=ItemFactory(dataset__project=project),
            annotator=annotator,
            label="cat",
        )
    report = reader.get(f"/api/v1/projects/{project.pk}/agreement/").json()
    assert report["krippendorff_alpha"] is None
    assert report["fleiss_kappa"] is None
    assert report["mean_pairwise_cohen_kappa"] is None
    for name in ("krippendorff_alpha", "fleiss_kappa", "mean_pairwise_cohen_kappa"):
        assert report["reasons"][name], name


def test_filters_and_their_errors(world, reader):
    project, _ = seeded_project(world)
    url = f"/api/v1/projects/{project.pk}/agreement/"
    bob = Annotator.objects.get(name="bob")
    Annotation.objects.filter(project=project, annotator=bob).update(
        created_at=timezone.now() - timedelta(days=30)
    )
    today = timezone.localdate().isoformat()
    recent = reader.get(f"{url}?from={today}").json()
    assert {row["annotator"] for row in recent["per_annotator"]} == {"alice", "carol"}
    mine = reader.get(f"{url}?annotator={bob.pk}").json()
    assert mine["items"] == 40
    bad = reader.get(f"{url}?from=yesterday")
    assert bad.status_code == 400
    assert "from" in bad.json()
    backwards = reader.get(f"{url}?from=2026-11-20&to=2026-11-01")
    assert backwards.status_code == 400
    assert "to" in backwards.json()


def test_the_report_is_cached_until_new_work_arrives(world, reader):
    project, _ = seeded_project(world, n_items=12)
    url = f"/api/v1/projects/{project.pk}/agreement/"
    first = reader.get(url).json()
    assert reader.get(url).json()["computed_at"] == first["computed_at"]
    AnnotationFactory(
        item=ItemFactory(dataset__project=project),
        annotator=external(project, "dave"),
        label="dog",
    )
    again = reader.get(url).json()
    assert again["computed_at"] != first["computed_at"]
    assert again["annotations"] == first["annotations"] + 1
    assert AgreementReport.objects.filter(project=project).count() == 1


def test_downloads_neutralize_formulas(world, reader):
    project, _ = seeded_project(world, n_items=12, names=("=HYPERLINK(1)", "bob", "carol"))
    response = reader.get(
        f"/api/v1/projects/{project.pk}/agreement/download/?table=per_annotator&format=csv"
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('per_annotator.csv"')
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {row["annotator"] for row in rows} == {"'=HYPERLINK(1)", "bob", "carol"}
    as_json = reader.get(
        f"/api/v1/projects/{project.pk}/agreement/download/?table=confusion&format=json"
    ).json()
    assert [row["consensus"] for row in as_json] == LABELS
    bad = reader.get(f"/api/v1/projects/{project.pk}/agreement/download/?table=secrets")
    assert bad.status_code == 400


def test_annotators_may_not_read_reports(world, api):
    client = api.as_user(world.users[Role.ANNOTATOR])
    assert client.get(f"/api/v1/projects/{world.a.project.pk}/agreement/").status_code == 403


def test_binary_copy_reader_decodes_the_rows_as_stored(world):
    """The COPY reader gives, per annotation, what the ORM reads: item, annotator, duration
    (-1 for none), day since the epoch and the label's index; per item its gold and final
    label (-1 for none)."""
    project, _ = seeded_project(world, n_items=25)
    Annotation.objects.filter(project=project, annotator__name="bob").update(duration_ms=None)
    first = Item.objects.filter(project=project).order_by("id")[:5]
    Item.objects.filter(pk__in=first.values("pk")).update(label="bird")
    code = {None: -1, **{label: n for n, label in enumerate(LABELS)}}
    expected = sorted(
        (item, annotator, -1 if ms is None else ms, (at.date() - data.EPOCH).days, code[label])
        for item, annotator, ms, at, label in Annotation.objects.filter(
            project=project
        ).values_list("item_id", "annotator_id", "duration_ms", "created_at", "label")
    )
    expected_items = sorted(
        (pk, code[gold], code[label])
        for pk, gold, label in Item.objects.filter(project=project).values_list(
            "pk", "gold_label", "label"
        )
    )
    # every case is there: durations and none, gold and none, a final label and none
    assert {ms == -1 for _, _, ms, _, _ in expected} == {True, False}
    assert {g for _, g, _ in expected_items} == {-1, 0}
    assert {f for _, _, f in expected_items} == {-1, 2}

    items, annotators, durations, days, codes, item_rows = data._read(project, data.Filters())

    got = zip(items, annotators, durations, days, codes, strict=True)
    assert sorted(tuple(int(v) for v in row) for row in got) == expected
    got_items = zip(item_rows["id"], item_rows["gold"], item_rows["final"], strict=True)
    assert sorted(tuple(int(v) for v in row) for row in got_items) == expected_items


def test_multilabel_codes_are_bitmasks(world):
    project = tenancy_services.project_create(
        organization=world.a.organization,
        name="Tags",
        task_type="multilabel",
        labels=["red", "green", "blue"],
    )
    item = ItemFactory(dataset__project=project)
    for name, value in (("a", ["red", "blue"]), ("b", ["green"]), ("c", [])):
        AnnotationFactory(
            item=item,
            annotator=external(project, name),
            label=value,
        )
    annotations = data.annotation_set(project=project)
    assert sorted(annotations.codes.tolist()) == [0, 0b010, 0b101]
    assert annotations.decode(0b101) == ["red", "blue"]


def test_a_models_ratings_have_their_own_row_but_no_say_in_the_figures(world, reader):
    project, matrix = seeded_project(world, n_items=20)
    model = AnnotatorFactory(
        organization=project.organization, kind=AnnotatorKind.MODEL, name="model:test"
    )
    for item in project.items.all():
        AnnotationFactory(
            item=item,
            annotator=model,
            label="bird",
            source="model",
        )
    report = reader.get(f"/api/v1/projects/{project.pk}/agreement/").json()
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert report["krippendorff_alpha"] == pytest.approx(expected, abs=1e-4)
    assert "people" in report["agreement_of"]
    rows = {row["annotator"]: row for row in report["per_annotator"]}
    assert rows["model:test"]["annotations"] == 20 and rows["model:test"]["kind"] == "model"
