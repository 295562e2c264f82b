"""The task queue: leases, overlap, expiry, gold, blind pre-labels, submissions and undo."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from billing.models import DailyUsage
from labeling import queue
from labeling.models import Annotation, Item, Lease
from labeling.signals import items_completed
from tenancy import services as tenancy_services
from tenancy.models import Role

from ..factories import ItemFactory


@pytest.fixture
def project(world):
    return world.a.project  # labels positive/negative, overlap 3


@pytest.fixture
def annotators(world, project):
    """Three annotators of project A: the world's, the spare one, and a third."""
    third = tenancy_services.member_create(
        organization=world.vendor, username="ann.third", password="a-fine-passphrase-3",
        role="annotator",
    ).user  # fmt: skip
    for user in (world.spare_annotator, third):
        tenancy_services.workforce_assign(project=project, user=user, role="annotator")
    return [world.users[Role.ANNOTATOR], world.spare_annotator, third]


def fresh_project(world, **policy):
    project = tenancy_services.project_create(
        organization=world.a.organization, name=f"Queue {policy}", labels=["a", "b"], **policy
    )
    for user in (world.users[Role.ANNOTATOR], world.spare_annotator):
        tenancy_services.workforce_assign(project=project, user=user, role="annotator")
    return project


def drain(project, user) -> list[int]:
    """Label everything the queue gives this person; the ids in the order given."""
    given = []
    while (lease := queue.lease_next(project=project, user=user)) is not None:
        given.append(lease.item_id)
        queue.annotation_submit(item=lease.item, user=user, label=project.labels[0])
    return given


def test_next_asks_again_get_the_same_task_and_order_is_priority_then_age(world):
    project = fresh_project(world, overlap=1)
    low, high, old = (ItemFactory(dataset__project=project, priority=p) for p in (0.1, 0.9, 0.1))
    user = world.users[Role.ANNOTATOR]
    first = queue.lease_next(project=project, user=user)
    assert first.item_id == high.pk
    assert queue.lease_next(project=project, user=user).pk == first.pk  # a live lease is kept
    queue.annotation_submit(item=first.item, user=user, label="a")
    assert queue.lease_next(project=project, user=user).item_id == low.pk  # older of the equals
    assert old.pk > low.pk


def test_overlap_is_respected_and_nobody_gets_an_item_twice(world, project, annotators):
    # the world's open items (one labeled already; its third waits for review)
    items = list(Item.objects.filter(project=project, status="open"))
    items += ItemFactory.create_batch(2, dataset=world.a.item.dataset)
    given = {user.username: drain(project, user) for user in annotators}
    counts = {item.pk: Annotation.objects.filter(item=item).count() for item in items}
    assert all(count == 3 for count in counts.values()), counts
    for ids in given.values():
        assert len(ids) == len(set(ids))  # never the same item twice to one person
    assert all(Item.objects.get(pk=pk).status == "complete" for pk in counts)
    assert queue.lease_next(project=project, user=annotators[0]) is None


def test_an_item_is_never_held_by_more_people_than_it_needs(world):
    project = fresh_project(world, overlap=1)
    only = ItemFactory(dataset__project=project)
    first = queue.lease_next(project=project, user=world.users[Role.ANNOTATOR])
    assert first.item_id == only.pk
    assert queue.lease_next(project=project, user=world.spare_annotator) is None


def test_an_expired_lease_returns_the_item_to_the_pool(world):
    project = fresh_project(world, overlap=1)
    only = ItemFactory(dataset__project=project)
    first = queue.lease_next(project=project, user=world.users[Role.ANNOTATOR])
    Lease.objects.filter(pk=first.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    second = queue.lease_next(project=project, user=world.spare_annotator)
    assert second is not None and second.item_id == only.pk
    # The first annotator walked away: their late submission is refused, the item is taken.
    with pytest.raises(queue.Conflict):
        queue.annotation_submit(item=only, user=world.users[Role.ANNOTATOR], label="a")


def test_skip_gives_the_task_back_and_is_not_offered_again(world):
    project = fresh_project(world, overlap=1)
    one, two = ItemFactory.create_batch(2, dataset__project=project)
    user = world.users[Role.ANNOTATOR]
    assert queue.lease_next(project=project, user=user).item_id == one.pk
    queue.item_skip(item=one, user=user)
    assert queue.lease_next(project=project, user=user).item_id == two.pk
    assert queue.lease_next(project=project, user=world.spare_annotator).item_id == one.pk


def test_submission_rules(world, project, django_capture_on_commit_callbacks):
    user = world.users[Role.ANNOTATOR]
    item = world.a.item
    with pytest.raises(Exception) as bad:
        queue.annotation_submit(item=item, user=user, label="maybe")
    assert "not in the label set" in str(bad.value)
    queue.annotation_submit(item=item, user=user, label="positive", duration_ms=2500)
    with pytest.raises(queue.Conflict):
        queue.annotation_submit(item=item, user=user, label="positive")  # a retry: no 2nd row
    assert Annotation.objects.filter(item=item, annotator__user=user).count() == 1
    usage = DailyUsage.objects.get(project=project)
    # the world made one annotation already; this one adds 1 and 2.5 s rounded
    assert (usage.annotations, usage.annotator_seconds) == (2, 2)


def test_completion_sends_the_signal_once(world, django_capture_on_commit_callbacks):
    project = fresh_project(world, overlap=2)
    item = ItemFactory(dataset__project=project)
    received = []
    handler = lambda sender, **kw: received.append(kw)  # noqa: E731
    items_completed.connect(handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            queue.annotation_submit(item=item, user=world.users[Role.ANNOTATOR], label="a")
            queue.annotation_submit(item=item, user=world.spare_annotator, label="a")
    finally:
        items_completed.disconnect(handler)
    assert received == [
        {
            "organization_id": project.organization_id,
            "project_id": project.pk,
            "item_ids": [item.pk],
            "signal": items_completed,
        }
    ]
    item.refresh_from_db()
    assert (item.status, item.done) == ("complete", 2)
    assert DailyUsage.objects.get(project=project).items_completed == 1


def test_gold_items_are_scored_at_once(world):
    project = fresh_project(world, overlap=1, gold_rate=1.0)
    gold = ItemFactory(dataset__project=project, gold_label="b")
    user = world.users[Role.ANNOTATOR]
    lease = queue.lease_next(project=project, user=user)
    assert lease.item_id == gold.pk
    queue.annotation_submit(item=gold, user=user, label="a")
    # The gold item stays servable to the next person, whatever its overlap.
    other = queue.lease_next(project=project, user=world.spare_annotator)
    assert other.item_id == gold.pk
    queue.annotation_submit(item=gold, user=world.spare_annotator, label="b")
    assert queue.annotator_stats(project=project, user=user)["gold_accuracy"] == 0.0
    stats = queue.annotator_stats(project=project, user=world.spare_annotator)
    assert stats == {"today": 1, "gold_answered": 1, "gold_accuracy": 1.0}


def test_undoing_a_gold_answer_after_its_overlap_leaves_it_complete(world):
    project = fresh_project(world, overlap=1, gold_rate=1.0)
    gold = ItemFactory(dataset__project=project, gold_label="b")
    first, second = world.users[Role.ANNOTATOR], world.spare_annotator
    for user in (first, second):
        queue.lease_next(project=project, user=user)
    queue.annotation_submit(item=gold, user=first, label="b")
    extra = queue.annotation_submit(item=gold, user=second, label="a")
    queue.annotation_undo(annotation=extra, user=second)
    gold.refresh_from_db()
    assert (gold.status, gold.done) == ("complete", 1)
    usage = DailyUsage.objects.get(project=project)
    assert (usage.annotations, usage.items_completed) == (1, 1)


@pytest.mark.parametrize(("blind_share", "shown"), [(0.0, True), (1.0, False)])
def test_blind_share_hides_the_prelabel_and_is_recorded(world, blind_share, shown):
    project = fresh_project(world, overlap=1, prelabels=True, blind_share=blind_share)
    item = ItemFactory(dataset__project=project, prelabel="a", prelabel_confidence=0.8)
    user = world.users[Role.ANNOTATOR]
    lease = queue.lease_next(project=project, user=user)
    assert lease.blind is not shown
    assert queue.prelabel_shown(project=project, item=item, lease=lease) is shown
    annotation = queue.annotation_submit(item=item, user=user, label="a")
    assert annotation.prelabel_shown is shown


def test_undo_while_the_lease_holds(world):
    project = fresh_project(world, overlap=1)
    item = ItemFactory(dataset__project=project)
    user = world.users[Role.ANNOTATOR]
    lease = queue.lease_next(project=project, user=user)
    annotation = queue.annotation_submit(item=lease.item, user=user, label="a")
    item.refresh_from_db()
    assert item.status == "complete"
    back = queue.annotation_undo(annotation=annotation, user=user)
    assert back.item_id == item.pk and back.annotation_id is None
    item.refresh_from_db()
    assert (item.status, item.done) == ("open", 0)
    assert not Annotation.objects.filter(pk=annotation.pk).exists()
    assert DailyUsage.objects.get(project=project).annotations == 0
    again = queue.annotation_submit(item=item, user=user, label="b")
    Lease.objects.filter(annotation=again).update(expires_at=timezone.now())
    with pytest.raises(queue.Conflict):
        queue.annotation_undo(annotation=again, user=user)


@pytest.mark.django_db(transaction=True)
def test_two_annotators_racing_for_the_last_slot_never_both_get_it(world):
    """Two real database connections (one per thread) claim at the same moment, many times."""
    project = fresh_project(world, overlap=1)
    items = ItemFactory.create_batch(20, dataset__project=project)
    users = [world.users[Role.ANNOTATOR], world.spare_annotator]
    results: dict = {}
    barrier = threading.Barrier(2)

    def claim(user):
        try:
            got = []
            for _ in items:
                barrier.wait(timeout=10)
                lease = queue.lease_next(project=project, user=user)
                got.append(lease.item_id if lease else None)
                if lease:
                    queue.annotation_submit(item=lease.item, user=user, label="a")
            results[user.username] = got
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    claimed = [pk for got in results.values() for pk in got if pk]
    assert sorted(claimed) == sorted(item.pk for item in items)  # each exactly once
    assert all(Annotation.objects.filter(item=item).count() == 1 for item in items)


@pytest.mark.django_db(transaction=True)
def test_the_same_submission_twice_at_once_makes_one_label(world):
    """A client retrying while its first request is still running: one 201, one 409."""
    project = fresh_project(world, overlap=2)
    user = world.users[Role.ANNOTATOR]
    items = ItemFactory.create_batch(10, dataset__project=project)
    outcomes: list = []

    def submit(item):
        try:
            queue.annotation_submit(item=Item.objects.get(pk=item.pk), user=user, label="a")
            outcomes.append("created")
        except queue.Conflict:
            outcomes.append("conflict")

    twice_at_once(items, submit)
    assert sorted(outcomes) == ["conflict"] * 10 + ["created"] * 10
    assert DailyUsage.objects.get(project=project).annotations == 10


def twice_at_once(items, submit) -> None:
    """submit(item) from two threads (two real connections) at the same moment, item by item;
    each item then has one label, counted once."""
    barrier = threading.Barrier(2)

    def attempt(item):
        try:
            barrier.wait(timeout=10)
            submit(item)
        finally:
            connections.close_all()

    for item in items:
        threads = [threading.Thread(target=attempt, args=(item,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert Annotation.objects.filter(item=item).count() == 1
        assert Item.objects.get(pk=item.pk).done == 1


def test_an_item_completed_again_after_one_more_label_is_counted_once(world):
    """Adaptive overlap reopens a complete item for one more label; its second completion (and
    the undo of it) leaves the completed count alone: a client pays for an item once."""
    from labeling import services as labeling_services

    project = fresh_project(world, overlap=1, max_overlap=2)
    item = ItemFactory(dataset__project=project)
    first, second = world.users[Role.ANNOTATOR], world.spare_annotator
    queue.lease_next(project=project, user=first)
    queue.annotation_submit(item=item, user=first, label="a")
    assert labeling_services.item_overlap_extend(project=project, item_id=item.pk, confidence=0.5)
    assert queue.lease_next(project=project, user=second).item_id == item.pk
    again = queue.annotation_submit(item=item, user=second, label="b")
    item.refresh_from_db()
    assert (item.status, item.done, item.needed) == ("complete", 2, 2)
    usage = DailyUsage.objects.get(project=project)
    assert (usage.annotations, usage.items_completed) == (2, 1)
    queue.annotation_undo(annotation=again, user=second)
    item.refresh_from_db()
    usage.refresh_from_db()
    assert (item.status, usage.annotations, usage.items_completed) == ("open", 1, 1)
