"""Dataset imports: each format, each class of bad input, idempotency, all-or-nothing."""

import gzip
import io
import json

import orjson
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError

from billing.models import DailyUsage
from labeling.imports import services as import_services
from labeling.imports.services import import_job_create, import_job_run
from labeling.models import Annotation, Annotator, Dataset, ImportJob, Item
from tenancy import services as tenancy_services

from ..conftest import IMPORT_DATABASES

pytestmark = pytest.mark.django_db(databases=IMPORT_DATABASES)


@pytest.fixture
def project(world):
    return world.a.project  # labels: positive, negative; overlap 3


def jsonl(*rows) -> bytes:
    return b"".join((r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in rows)


def run(project, content: bytes, name="data.jsonl", **kwargs) -> ImportJob:
    job = import_job_create(project=project, upload=SimpleUploadedFile(name, content), **kwargs)
    return import_job_run(job_id=job.pk)


def assert_nothing_left(project, job):
    assert job.status == "failed"
    assert job.imported == 0
    assert not Item.objects.filter(dataset__name=job.dataset_name, project=project).exists()
    assert not Dataset.objects.filter(project=project, name=job.dataset_name).exists()
    assert not Annotation.objects.filter(project=project, annotator__kind="external").exists()
    assert not DailyUsage.objects.filter(project=project, items_imported__gt=0).exists()
    assert job.file.name == ""  # the stored upload is gone either way


# --- formats ------------------------------------------------------------------------------

FULL_ROW = {
    "id": "ext-17",
    "data": {"text": "Great phone", "meta": {"lang": "en"}},
    "gold": "positive",
    "prelabel": {"label": "positive", "confidence": 0.93},
    "annotations": [
        {"annotator": "vendorB/alice", "label": "positive"},
        {"annotator": "vendorB/bob", "label": "negative"},
    ],
}


def test_jsonl_rows_land_with_every_field(project):
    job = run(project, jsonl(FULL_ROW, {"data": {"text": "no id here"}}))
    assert job.status == "succeeded", job.errors
    assert (job.rows, job.imported, job.failed_rows, job.annotations_imported) == (2, 2, 0, 2)
    item = Item.objects.get(project=project, external_id="ext-17")
    assert item.data == FULL_ROW["data"]
    assert item.gold_label == "positive"
    assert (item.prelabel, item.prelabel_confidence) == ("positive", 0.93)
    assert (item.status, item.done, item.needed) == ("open", 2, 3)
    assert item.organization_id == project.organization_id
    assert item.dataset.name == "data" and job.dataset == item.dataset
    labels = dict(Annotation.objects.filter(item=item).values_list("annotator__name", "label"))
    assert labels == {"vendorB/alice": "positive", "vendorB/bob": "negative"}
    external = Annotator.objects.filter(kind="external")
    assert set(external.values_list("organization_id", flat=True)) == {project.organization_id}
    hashed = Item.objects.get(project=project, data={"text": "no id here"})
    assert hashed.external_id.startswith("sha256:")
    assert DailyUsage.objects.get(project=project).items_imported == 2


def test_json_array_streams_and_counts_lines(project):
    content = json.dumps([FULL_ROW, {"id": 2, "data": {"n": 2}}], indent=2).encode()
    job = run(project, content, name="batch.json")
    assert job.status == "succeeded", job.errors
    assert job.imported == 2
    assert Item.objects.get(project=project, external_id="2").data == {"n": 2}


def test_csv_columns_become_data_and_formulas_stay_text(project):
    content = (
        b"id,text,gold,score\r\n"
        b'c1,"Fine, thanks",positive,=SUM(A1:A9)\r\n'
        b"c2,+cmd|' /C calc'!A0,,@HYPERLINK(1)\r\n"
    )
    job = run(project, content, name="sheet.csv")
    assert job.status == "succeeded", job.errors
    first = Item.objects.get(project=project, external_id="c1")
    assert first.data == {"text": "Fine, thanks", "score": "=SUM(A1:A9)"}
    assert first.gold_label == "positive"
    second = Item.objects.get(project=project, external_id="c2")
    assert second.data == {"text": "+cmd|' /C calc'!A0", "score": "@HYPERLINK(1)"}
    assert second.gold_label is None


def test_gzip_and_a_utf8_bom_are_accepted(project):
    content = gzip.compress(b"\xef\xbb\xbf" + jsonl({"id": "z", "data": {"text": "caf\u00e9"}}))
    job = run(project, content, name="data.jsonl.gz")
    assert job.status == "succeeded", job.errors
    assert job.compressed
    assert Item.objects.get(project=project, external_id="z").data == {"text": "caf\u00e9"}


def test_multilabel_labels_are_subsets(world):
    project = tenancy_services.project_create(
        organization=world.a.organization, name="Tags", labels=["a", "b", "c"],
        task_type="multilabel",
    )  # fmt: skip
    good = run(project, jsonl({"id": 1, "data": {}, "gold": ["c", "a"]}))
    assert good.status == "succeeded", good.errors
    assert Item.objects.get(project=project).gold_label == ["a", "c"]
    bad = run(project, jsonl({"id": 2, "data": {}, "gold": "a"}), name="more.jsonl")
    assert bad.errors == [
        {"line": 1, "message": "'gold' must be a list of labels in this multi-label project."}
    ]


# --- bad input: each gets its clear error and leaves nothing behind ------------------------


@pytest.mark.parametrize(
    ("content", "name", "line", "needle"),
    [
        (jsonl({"data": {}}, {"data": {}}, b'{"data": {"text": "oops"}'), "a.jsonl", 3,
         "Malformed JSON"),
        (jsonl({"data": {}, "gold": "spam"}), "a.jsonl", 1,
         "'gold' is 'spam', which is not in the label set (positive, negative)"),
        (jsonl({"data": {}}, {"id": "x", "text": "hi"}), "a.jsonl", 2, "Unknown field 'text'"),
        (jsonl({"id": "x"}), "a.jsonl", 1, "The row has no 'data'"),
        (jsonl({"data": "text"}), "a.jsonl", 1, "'data' must be an object, got a string"),
        (jsonl([1, 2]), "a.jsonl", 1, "A row must be a JSON object, got a list"),
        (jsonl({"data": {}, "prelabel": {"label": "positive", "confidence": 1.7}}), "a.jsonl", 1,
         "'prelabel.confidence' must be a number from 0 to 1, got 1.7"),
        (jsonl({"data": {}, "annotations": [{"annotator": "x", "label": "meh"}]}), "a.jsonl", 1,
         "'annotations[0].label' is 'meh'"),
        (b'[{"data": {}},\n {"data": {}\n,]', "a.json", 3, "Malformed JSON at line 3"),
        (b'{"data": {}}', "a.json", 1, "must hold one JSON array"),
        (b'[{"data": {}}', "a.json", 1, "not closed"),
        (b"id,text\n1,a\n2,b,c\n", "a.csv", 3, "The row has 3 cells; the header has 2"),
        (b"id,gold,text\n1,maybe,x\n", "a.csv", 2, "'gold' is 'maybe'"),
        (jsonl({"data": {"text": "caf"}}) + b'{"data": {"text": "caf\xe9"}}\n', "a.jsonl", 2,
         "Line 2 is not valid UTF-8 (byte 0xe9"),
        ("text\ncaf\u00e9\n".encode("utf-16"), "a.csv", 1, "UTF-16"),
        (bytes(range(256)) * 40, "a.jsonl", 1, "not a text file"),
        (b"\n\n   \n", "a.jsonl", None, "The file holds no rows"),
        (b"[]", "a.json", None, "The file holds no rows"),
        (b"id,text\n", "a.csv", None, "The file holds no rows"),
        (gzip.compress(jsonl(*[{"data": {"n": n}} for n in range(2000)]))[:-40], "a.jsonl.gz",
         None, "truncated"),
        (b"not gzip at all", "a.jsonl.gz", 1, "Malformed JSON"),
    ],
)  # fmt: skip
def test_bad_input_is_named_and_leaves_nothing(project, content, name, line, needle):
    job = run(project, content, name=name)
    assert_nothing_left(project, job)
    assert job.errors, job.message
    assert needle in job.errors[0]["message"] + job.message, (job.errors, job.message)
    assert job.errors[0]["line"] == line


def test_oversized_rows_are_refused(project, settings):
    settings.LQA_IMPORT_MAX_ROW_BYTES = 200
    big = {"data": {"text": "x" * 500}}
    job = run(project, jsonl({"data": {}}, big, {"data": {}}))
    assert_nothing_left(project, job)
    assert job.errors == [{"line": 2, "message": "The row is larger than the limit of 200 bytes."}]
    array = run(project, json.dumps([{"data": {}}, big]).encode(), name="big.json")
    assert_nothing_left(project, array)
    assert "larger than the limit of 200 bytes" in array.errors[0]["message"]


def test_a_decompression_bomb_is_stopped(project, settings):
    settings.LQA_IMPORT_MAX_BYTES = 50_000
    bomb = gzip.compress(jsonl({"data": {"text": "a" * 100}}) * 5_000)  # 0.6 MB from ~2 KB
    assert len(bomb) < 50_000
    job = run(project, bomb, name="bomb.jsonl.gz")
    assert_nothing_left(project, job)
    assert "exceeds the limit of 50,000 bytes" in job.message


def test_every_bad_row_is_counted_and_the_first_100_listed(project):
    rows = [{"data": {}, "gold": "nope"} if n % 2 else {"data": {"n": n}} for n in range(300)]
    job = run(project, jsonl(*rows))
    assert_nothing_left(project, job)
    assert (job.rows, job.failed_rows, len(job.errors)) == (300, 150, 100)
    assert [e["line"] for e in job.errors[:3]] == [2, 4, 6]
    assert "150 of 300 rows are bad" in job.message


def test_on_error_skip_keeps_the_good_rows(project):
    job = run(project, jsonl({"data": {"n": 1}}, b"{broken", {"data": {"n": 3}}), on_error="skip")
    assert job.status == "succeeded"
    assert (job.rows, job.imported, job.failed_rows) == (3, 2, 1)
    assert job.errors[0]["line"] == 2
    assert Item.objects.filter(project=project).count() == 5  # 3 from the world + 2


def test_reupload_adds_nothing_and_counts_nothing(project):
    content = jsonl(*[{"id": n, "data": {"n": n}} for n in range(50)])
    first = run(project, content)
    second = run(project, content)
    assert (first.imported, first.duplicates) == (50, 0)
    assert second.status == "succeeded"
    assert (second.imported, second.duplicates) == (0, 50)
    assert Item.objects.filter(dataset__name="data").count() == 50
    assert DailyUsage.objects.get(project=project).items_imported == 50
    third = run(project, jsonl(*[{"id": n, "data": {"n": n}} for n in range(45, 60)]))
    assert (third.imported, third.duplicates) == (10, 5)


def test_duplicate_ids_inside_one_file_are_kept_once(project):
    job = run(project, jsonl({"id": "a", "data": {"v": 1}}, {"id": "a", "data": {"v": 2}}))
    assert (job.imported, job.duplicates) == (1, 1)
    assert Item.objects.get(external_id="a").data == {"v": 1}


def test_an_id_repeated_across_batches_is_kept_once(project, monkeypatch):
    """The fast pass stops at the unique index and the checked pass imports the file."""
    monkeypatch.setattr(import_services, "BATCH_ROWS", 10)
    rows = [{"id": n % 25, "data": {"n": n}} for n in range(40)]  # ids 0-14 appear twice
    job = run(project, jsonl(*rows))
    assert job.status == "succeeded", job.errors
    assert (job.rows, job.imported, job.duplicates) == (40, 25, 15)
    stored = dict(Item.objects.filter(dataset__name="data").values_list("external_id", "data"))
    assert len(stored) == 25
    assert stored["3"] == {"n": 3}  # the first occurrence wins
    assert DailyUsage.objects.get(project=project).items_imported == 25


def test_a_crash_part_way_leaves_nothing_and_a_rerun_imports_everything(project, monkeypatch):
    monkeypatch.setattr(import_services, "BATCH_ROWS", 10)
    real_write = import_services.ItemWriter.write
    calls = {"n": 0}

    def crash_on_third_batch(self, rows):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OperationalError("server closed the connection unexpectedly")
        return real_write(self, rows)

    monkeypatch.setattr(import_services.ItemWriter, "write", crash_on_third_batch)
    content = jsonl(*[{"id": n, "data": {"n": n}} for n in range(45)])
    job = import_job_create(project=project, upload=SimpleUploadedFile("crash.jsonl", content))
    with pytest.raises(OperationalError):
        import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "running"  # the task retries it
    assert not Item.objects.filter(dataset__name="crash").exists()
    assert not Dataset.objects.filter(name="crash").exists()

    job = import_job_run(job_id=job.pk)  # the redelivered task
    assert job.status == "succeeded" and job.attempts == 2
    assert Item.objects.filter(dataset__name="crash").count() == 45
    assert DailyUsage.objects.get(project=project).items_imported == 45
    assert import_job_run(job_id=job.pk).imported == 45  # a third delivery changes nothing
    assert Item.objects.filter(dataset__name="crash").count() == 45


@pytest.mark.parametrize(
    ("name", "size", "field", "needle"),
    [
        ("data.txt", 10, "file", "upload a .jsonl, .json or .csv file"),
        ("data.jsonl", 0, "file", "The file is empty"),
        ("data.jsonl", 10**6, "file", "the limit is 1,000 bytes"),
    ],
)
def test_upload_errors_name_the_file(project, settings, name, size, field, needle):
    settings.LQA_IMPORT_MAX_BYTES = 1_000
    jobs_before = ImportJob.objects.count()
    with pytest.raises(ValidationError) as raised:
        import_job_create(project=project, upload=SimpleUploadedFile(name, b"x" * size))
    assert needle in raised.value.message_dict[field][0]
    assert ImportJob.objects.count() == jobs_before


def test_json_array_reader_crosses_block_boundaries_with_right_lines():
    """30 MB of rows: many 1 MiB blocks, each boundary cutting a row in two."""
    from labeling.imports.readers import read_json_array

    row = b'{"data": {"text": "' + b"y" * 200 + b'"}}'
    count = 150_000
    stream = io.BufferedReader(io.BytesIO(b"[" + b",\n".join([row] * count) + b"]"))
    seen = 0
    for line, value in read_json_array(stream, max_row_bytes=10_000):
        seen += 1
        assert line == seen  # row n starts on line n
        assert value["data"]["text"] == "y" * 200
    assert seen == count
