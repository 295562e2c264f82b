"""The agreement report under concurrent writes: it reads the project's annotations in several
statements (qa/data.py), and an annotation committed between two of them once gave the second
read an item the first had not seen (an IndexError: the report answered 500). Each report is
now read in one snapshot, whose time it carries as its cut-off."""

import datetime
import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from labeling.models import Annotation, Item
from qa import reports
from qa.data import Filters

from ..factories import AnnotationFactory, ItemFactory
from .test_agreement_api import LABELS, external, seeded_project


def _someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def write_while_the_report_reads(project, table: str) -> dict:
    """Hold a lock on `table` on another connection until a reader waits for it; then add an
    item with its first annotation there and commit: the write lands between the report's
    reads. What the writer made (and when it committed)."""
    made: dict = {}
    locked = threading.Event()

    def writer():
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
                locked.set()
                deadline = time.monotonic() + 20
                while not _someone_waits_for_a_lock():
                    assert time.monotonic() < deadline, "the report never waited"
                    time.sleep(0.02)
                item = ItemFactory(dataset__project=project)
                AnnotationFactory(item=item, annotator=external(project, "late"), label=LABELS[1])
                made["item"] = item.pk
            made["committed_at"] = timezone.now()
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer)
    thread.start()
    assert locked.wait(20)
    made["thread"] = thread
    return made


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("table", [Annotation._meta.db_table, Item._meta.db_table])
def test_a_report_computed_while_an_annotation_commits_reads_one_snapshot(world, table):
    """Held at its read of the annotations (whose snapshot a COPY takes before it waits for the
    lock), a report read without one snapshot failed with "IndexError: index 12 is out of
    bounds for axis 0 with size 12"; held at its read of the items, it must hold too."""
    project, _ = seeded_project(world, n_items=12)
    before_items = Item.objects.filter(project=project).count()
    before_annotations = Annotation.objects.filter(project=project).count()

    write = write_while_the_report_reads(project, table)
    result = reports.report_compute(project=project, filters=Filters())
    write["thread"].join(timeout=20)

    # the report holds the project as it was when its snapshot was taken, whole
    assert (result["items"], result["annotations"]) == (before_items, before_annotations)
    assert result["annotators"] == 3
    assert sum(row["annotations"] for row in result["per_annotator"]) == before_annotations
    assert sum(map(sum, result["confusion"]["matrix"])) == before_annotations
    assert "late" not in {row["annotator"] for row in result["per_annotator"]}
    as_of = datetime.datetime.fromisoformat(result["as_of"])
    assert as_of < write["committed_at"]


@pytest.mark.django_db(transaction=True)
def test_the_report_carries_its_cut_off_and_turns_stale_after_it(world):
    project, _ = seeded_project(world, n_items=5)
    report, state = reports.report_get(project=project, filters=Filters())
    assert state["as_of"] == state["computed_at"]
    assert report["as_of"] == state["as_of"].isoformat()
    assert report["annotations"] == Annotation.objects.filter(project=project).count()

    late = ItemFactory(dataset__project=project)
    AnnotationFactory(item=late, annotator=external(project, "late"), label=LABELS[0])
    report, state = reports.report_get(project=project, filters=Filters())

    assert report["annotations"] == Annotation.objects.filter(project=project).count()
    assert state["stale"] is False
    assert "late" in {row["annotator"] for row in report["per_annotator"]}


def test_a_late_commit_of_an_annotation_stamped_before_the_cut_off_makes_the_report_stale(
    world,
):
    """A submission stamps its annotation a moment before it commits: one stamped before a
    report's snapshot may commit after it, and is not in that report. The count of the window
    before the cut-off tells: the report is computed again, with it."""
    project, _ = seeded_project(world, n_items=5)
    first, state = reports.report_get(project=project, filters=Filters())
    late = AnnotationFactory(
        item=ItemFactory(dataset__project=project), annotator=external(project, "slow"),
        label=LABELS[0],
    )  # fmt: skip
    Annotation.objects.filter(pk=late.pk).update(
        created_at=state["as_of"] - datetime.timedelta(seconds=1)
    )

    again, later = reports.report_get(project=project, filters=Filters())

    assert again["annotations"] == first["annotations"] + 1
    assert later["as_of"] > state["as_of"] and later["stale"] is False
    unchanged, same = reports.report_get(project=project, filters=Filters())
    assert same["as_of"] == later["as_of"] and unchanged == again  # fresh: not computed again
    assert "window_annotations" not in again


def test_the_api_answers_the_cut_off(world, api):
    project, _ = seeded_project(world, n_items=5)
    client = api.as_user(world.users["client_viewer"])
    body = client.get(f"/api/v1/projects/{project.pk}/agreement/").json()
    assert body["as_of"] == body["computed_at"]
    assert datetime.datetime.fromisoformat(body["as_of"].replace("Z", "+00:00")) <= timezone.now()
