"""The metering service: daily, per-person and turnaround counters, kept by the work itself;
idempotency keys for events that may be delivered twice."""

import datetime
import threading

import pytest
from django.db import connections, transaction
from django.utils import timezone

from billing import turnaround
from billing.models import DailyUsage, PersonDailyUsage, TurnaroundBucket, UsageEvent
from billing.services import usage_add
from labeling import queue
from tenancy import services as tenancy_services
from tenancy.models import Role
from tests.factories import ItemFactory

DAY = datetime.date(2026, 3, 10)


def counts(model, **filters):
    return list(model.objects.filter(**filters).order_by("pk").values())


def buckets(project, day=None):
    rows = TurnaroundBucket.objects.filter(project=project, day=day or timezone.localdate())
    return {row.bucket: row.items for row in rows if row.items}


def test_usage_add_counts_per_day_person_and_turnaround(world):
    org, project, user = world.a.organization, world.a.project, world.users[Role.ANNOTATOR]
    keys = {"organization_id": org.pk, "project_id": project.pk, "day": DAY}
    usage_add(**keys, user_id=user.pk, annotations=3, annotator_seconds=12)
    usage_add(
        **keys, user_id=user.pk, annotations=2, items_completed=2, turnaround_seconds=[5, 7200]
    )
    usage_add(**keys, items_imported=40)
    daily = DailyUsage.objects.get(project=project, day=DAY)
    assert (daily.items_imported, daily.annotations, daily.items_completed) == (40, 5, 2)
    assert daily.annotator_seconds == 12
    person = PersonDailyUsage.objects.get(project=project, day=DAY, user=user)
    assert (person.annotations, person.reviews, person.annotator_seconds) == (5, 0, 12)
    assert buckets(project, DAY) == {turnaround.bucket_of(5): 1, turnaround.bucket_of(7200): 1}
    # Imports have nobody behind them: no person row, no turnaround.
    assert PersonDailyUsage.objects.filter(project=project, day=DAY).count() == 1


def test_usage_add_refuses_unknown_counters_and_mismatched_turnarounds(world):
    keys = {"organization_id": world.a.organization.pk, "project_id": world.a.project.pk}
    with pytest.raises(ValueError, match="unknown usage counters"):
        usage_add(**keys, labels=1)
    with pytest.raises(ValueError, match="2 times for 3 completed items"):
        usage_add(**keys, items_completed=3, turnaround_seconds=[1, 2])
    assert not DailyUsage.objects.filter(day=DAY).exists()


def test_submissions_feed_the_person_and_turnaround_counters_and_undo_takes_them_back(world):
    user = world.users[Role.ANNOTATOR]
    project = tenancy_services.project_create(
        organization=world.a.organization, name="One pass", labels=["a", "b"], overlap=1
    )
    tenancy_services.workforce_assign(project=project, user=user, role="annotator")
    item = ItemFactory(dataset__project=project)
    lease = queue.lease_next(project=project, user=user)
    assert lease.item_id == item.pk
    annotation = queue.annotation_submit(item=item, user=user, label="a", duration_ms=4000)
    item.refresh_from_db()
    age = (item.completed_at - item.created_at).total_seconds()
    assert buckets(project) == {turnaround.bucket_of(age): 1}
    person = PersonDailyUsage.objects.get(project=project, user=user, day=timezone.localdate())
    assert (person.annotations, person.annotator_seconds) == (1, 4)

    queue.annotation_undo(annotation=annotation, user=user)
    assert buckets(project) == {}
    person.refresh_from_db()
    assert (person.annotations, person.annotator_seconds) == (0, 0)
    daily = DailyUsage.objects.get(project=project, day=timezone.localdate())
    assert (daily.annotations, daily.items_completed) == (0, 0)


def test_a_retried_submission_counts_nothing(world):
    user, item = world.users[Role.ANNOTATOR], world.a.item
    queue.annotation_submit(item=item, user=user, label="positive", duration_ms=1000)
    before = counts(DailyUsage, project=world.a.project), counts(PersonDailyUsage, user=user)
    with pytest.raises(queue.Conflict):
        queue.annotation_submit(item=item, user=user, label="positive", duration_ms=1000)
    assert (counts(DailyUsage, project=world.a.project), counts(PersonDailyUsage, user=user)) == (
        before
    )


def export_task(*, organization_id, project_id, export_id, rows, fail_after_counting=False):
    """What an export task does (qa's, to come): its work and its count in one transaction,
    the count keyed by the export so that a redelivered task counts nothing."""
    with transaction.atomic():
        counted = usage_add(
            organization_id=organization_id,
            project_id=project_id,
            day=DAY,
            exported_items=rows,
            idempotency_key=f"export:{export_id}",
        )
        if fail_after_counting:
            raise RuntimeError("the worker died writing the file")
    return counted


def test_a_redelivered_task_counts_once(world):
    keys = {"organization_id": world.a.organization.pk, "project_id": world.a.project.pk}
    assert export_task(**keys, export_id=7, rows=250) is True
    assert export_task(**keys, export_id=7, rows=250) is False  # redelivered
    assert export_task(**keys, export_id=7, rows=250) is False  # and again
    assert export_task(**keys, export_id=8, rows=50) is True  # another export
    assert DailyUsage.objects.get(project=world.a.project, day=DAY).exported_items == 300
    assert set(UsageEvent.objects.values_list("key", flat=True)) == {"export:7", "export:8"}


def test_a_task_that_failed_after_counting_counts_when_retried(world):
    keys = {"organization_id": world.a.organization.pk, "project_id": world.a.project.pk}
    with pytest.raises(RuntimeError):
        export_task(**keys, export_id=9, rows=100, fail_after_counting=True)
    # The key rolled back with the count: the retry is the first delivery that committed.
    assert not UsageEvent.objects.filter(key="export:9").exists()
    assert not DailyUsage.objects.filter(project=world.a.project, day=DAY).exists()
    assert export_task(**keys, export_id=9, rows=100) is True
    assert DailyUsage.objects.get(project=world.a.project, day=DAY).exported_items == 100


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_at_once_count_once(world):
    """Two workers run the same delivery at the same moment: the second waits on the key's
    unique index until the first commits, then counts nothing."""
    keys = {"organization_id": world.a.organization.pk, "project_id": world.a.project.pk}
    barrier, results, errors = threading.Barrier(2), [], []

    def deliver():
        try:
            with transaction.atomic():
                barrier.wait(timeout=10)
                results.append(
                    usage_add(**keys, day=DAY, exported_items=10, idempotency_key="export:11")
                )
                threading.Event().wait(0.2)  # hold the transaction open a moment
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(results) == [False, True]
    assert DailyUsage.objects.get(project=world.a.project, day=DAY).exported_items == 10
