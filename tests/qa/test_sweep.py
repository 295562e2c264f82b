"""The consensus sweep of a project (what a broker's debounced task runs): every pending item
decided in batches, other projects left alone, termination on items it cannot decide,
idempotency, hand-over when out of time, and the pending mark's order (no lost completion)."""

import pytest
from django.utils import timezone

from labeling import queue
from labeling.models import Item, ItemStatus
from qa import consensus, pending, tasks
from qa.models import ReviewTask

from ..conftest import require_service
from ..factories import ItemFactory


@pytest.fixture
def complete(django_capture_on_commit_callbacks):
    """complete(item, users, values): submissions whose commit hooks do not run, as with a
    broker: the items wait for a sweep."""

    def submit(item, users, values):
        with django_capture_on_commit_callbacks(execute=False):
            for user, value in zip(users, values, strict=True):
                fresh = Item.objects.get(pk=item.pk)  # its overlap may have grown meanwhile
                queue.annotation_submit(item=fresh, user=user, label=value)

    return submit


@pytest.fixture
def redis_mark():
    """The real pending mark on the test run's Redis (platform/test.sh), cleared afterwards."""
    require_service("LQA_TEST_CELERY", "Redis")
    marked = []

    def exists(project_id) -> bool:
        marked.append(project_id)
        return bool(pending._redis().exists(pending._key(project_id)))

    yield exists
    for project_id in marked:
        pending.consensus_pending_clear(project_id=project_id)


def waiting(project) -> list[int]:
    return sorted(
        Item.objects.filter(
            project=project, status=ItemStatus.COMPLETE, label__isnull=True
        ).values_list("pk", flat=True)
    )


def snapshot(project) -> list[dict]:
    return list(Item.objects.filter(project=project).order_by("pk").values())


def test_the_sweep_decides_every_pending_item_in_batches(
    make_project, crowd, complete, monkeypatch
):
    monkeypatch.setattr(consensus, "SWEEP_BATCH", 3)
    project = make_project(overlap=2, max_overlap=2)
    agreed = [ItemFactory(dataset__project=project) for _ in range(7)]
    tied = ItemFactory(dataset__project=project)
    untouched = ItemFactory(dataset__project=project)  # open: one label of two
    for item in agreed:
        complete(item, crowd[:2], ["dog", "dog"])
    complete(tied, crowd[:2], ["cat", "dog"])
    complete(untouched, crowd[:1], ["cat"])
    other = make_project(overlap=2, max_overlap=2)
    elsewhere = ItemFactory(dataset__project=other)
    complete(elsewhere, crowd[:2], ["cat", "cat"])
    assert len(waiting(project)) == 8

    sweep = consensus.consensus_sweep(project=project)

    assert sweep == consensus.Sweep({"complete": 7, "review": 1})
    assert waiting(project) == []
    assert {i.label for i in Item.objects.filter(pk__in=[i.pk for i in agreed])} == {"dog"}
    assert Item.objects.get(pk=tied.pk).status == "review"
    assert ReviewTask.objects.filter(item_id=tied.pk).exists()
    assert Item.objects.get(pk=untouched.pk).status == "open"
    assert waiting(other) == [elsewhere.pk]  # another project waits for its own sweep


def test_the_sweep_ends_with_items_it_cannot_decide(make_project, crowd, complete, monkeypatch):
    """A complete item without votes is tried once per sweep, then left waiting."""
    monkeypatch.setattr(consensus, "SWEEP_BATCH", 2)
    project = make_project(overlap=2, max_overlap=2)
    voteless = ItemFactory.create_batch(3, dataset__project=project)
    Item.objects.filter(pk__in=[i.pk for i in voteless]).update(
        status=ItemStatus.COMPLETE, done=2, completed_at=timezone.now()
    )
    decidable = ItemFactory.create_batch(3, dataset__project=project)
    for item in decidable:
        complete(item, crowd[:2], ["cat", "cat"])

    sweep = consensus.consensus_sweep(project=project)

    assert sweep.outcome == {"complete": 3} and sweep.resume_after is None
    assert waiting(project) == sorted(i.pk for i in voteless)


def test_the_sweep_is_idempotent(make_project, crowd, complete):
    project = make_project(overlap=2, max_overlap=2)
    for values in (["cat", "cat"], ["cat", "dog"], ["bird", "bird"]):
        complete(ItemFactory(dataset__project=project), crowd[:2], values)
    consensus.consensus_sweep(project=project)
    before, reviews = snapshot(project), ReviewTask.objects.filter(project=project).count()

    assert consensus.consensus_sweep(project=project).outcome == {}  # nothing waits any more
    # a redelivered task that decides the same items again writes nothing new either
    consensus.consensus_items(project_id=project.pk, item_ids=[row["id"] for row in before])
    assert snapshot(project) == before
    assert ReviewTask.objects.filter(project=project).count() == reviews == 1


def test_a_sweep_out_of_time_hands_the_rest_to_the_next_task(
    make_project, crowd, complete, monkeypatch
):
    monkeypatch.setattr(consensus, "SWEEP_BATCH", 2)
    monkeypatch.setattr(consensus, "SWEEP_SECONDS", 0)
    project = make_project(overlap=2, max_overlap=2)
    items = ItemFactory.create_batch(5, dataset__project=project)
    for item in items:
        complete(item, crowd[:2], ["dog", "dog"])

    first = consensus.consensus_sweep(project=project)
    assert first.outcome == {"complete": 2} and first.resume_after == items[1].pk
    assert len(waiting(project)) == 3

    # The task hands over to itself (here in process: eager) until the walk ends.
    tasks.consensus_sweep.delay(project.organization_id, project.pk, first.resume_after)
    assert waiting(project) == []


def test_the_pending_mark_is_set_once_until_a_sweep_clears_it(make_project, redis_mark):
    project = make_project()
    assert pending.consensus_pending_mark(project_id=project.pk) is True
    assert pending.consensus_pending_mark(project_id=project.pk) is False
    assert pending.consensus_pending_mark(project_id=project.pk) is False
    assert 0 < pending._redis().ttl(pending._key(project.pk)) <= pending.PENDING_TTL
    consensus.consensus_sweep(project=project)
    assert not redis_mark(project.pk)
    assert pending.consensus_pending_mark(project_id=project.pk) is True


def test_no_completion_is_lost_around_the_clear(
    make_project, crowd, complete, redis_mark, monkeypatch
):
    """The receiver (with a broker) marks the project after each completion's commit and
    enqueues a sweep only when its mark is new. A completion whose mark found one set committed
    before the sweep cleared it: the sweep's last walk decides it. A completion after the clear
    marks anew: the next sweep is due. An item the sweep sent back for one more label and that
    was completed again meanwhile is decided again."""
    project = make_project(overlap=2, max_overlap=3)
    first = ItemFactory(dataset__project=project)
    doubtful = ItemFactory(dataset__project=project)
    before, after = ItemFactory.create_batch(2, dataset__project=project)
    complete(first, crowd[:2], ["cat", "cat"])
    complete(doubtful, crowd[:2], ["cat", "dog"])  # a tie below the maximum: one more person
    assert pending.consensus_pending_mark(project_id=project.pk)  # enqueues the sweep
    enqueued = []
    clear = pending.consensus_pending_clear

    def completions_around_the_clear(*, project_id):
        assert Item.objects.get(pk=doubtful.pk).status == "open"  # extended by the first walk
        complete(doubtful, crowd[2:3], ["dog"])  # completed again: 2 dogs of 3
        complete(before, crowd[:2], ["bird", "bird"])
        enqueued.append(pending.consensus_pending_mark(project_id=project_id))
        clear(project_id=project_id)
        complete(after, crowd[:2], ["dog", "dog"])
        enqueued.append(pending.consensus_pending_mark(project_id=project_id))

    monkeypatch.setattr(pending, "consensus_pending_clear", completions_around_the_clear)
    sweep = consensus.consensus_sweep(project=project)

    assert enqueued == [False, True]  # before the clear: no new sweep; after it: one
    assert redis_mark(project.pk)
    labels = dict(Item.objects.filter(project=project).values_list("pk", "label"))
    assert labels[first.pk] == "cat" and labels[before.pk] == "bird"
    assert labels[doubtful.pk] == "dog"
    # `after` committed before the last walk too, so this sweep decided it already ...
    assert labels[after.pk] == "dog"
    assert sweep.outcome == {"complete": 4, "extended": 1}
    # ... and the sweep its mark enqueued finds nothing left, and clears the mark.
    monkeypatch.setattr(pending, "consensus_pending_clear", clear)
    assert consensus.consensus_sweep(project=project).outcome == {}
    assert waiting(project) == []
    assert not redis_mark(project.pk)
