"""The task queue: leases, submissions, skips and undo (services of the annotation workflow).

Who gets what: an annotator is never handed an item twice, and an item is never held by more
people than its remaining overlap needs (done + live leases < needed). Order: priority, then
age. On PostgreSQL the claim locks the chosen item row with SKIP LOCKED, so concurrent
annotators neither collide nor wait for each other; on SQLite a transaction is enough for one
process. On PostgreSQL the claim and the submission are one call each of a server-side function
(postgres.py, labeling/migrations/0007_queue_functions.py); the ORM code below is the same
rules for SQLite.
"""

from __future__ import annotations

import random
from datetime import timedelta

import orjson
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.services import usage_add
from tenancy.models import Project, TaskType

from ..imports.rows import RowInvalid, RowValidator
from ..models import (
    Annotation,
    AnnotationSource,
    Annotator,
    AnnotatorKind,
    Item,
    ItemStatus,
    Lease,
)
from ..signals import items_completed
from . import postgres


def _statements() -> bool:
    """Whether the claim and the submission run as postgres.py's statements (PostgreSQL)."""
    return connection.vendor == "postgresql"


class Conflict(Exception):
    """The request clashes with the item's state (409): already labeled, too late to undo."""


def annotator_for(user) -> Annotator:
    """The platform user's annotator identity, made on first use."""
    try:
        return user.annotator
    except Annotator.DoesNotExist:
        try:
            with transaction.atomic():
                return Annotator.objects.create(
                    kind=AnnotatorKind.HUMAN, user=user, name=user.get_username()
                )
        except IntegrityError:  # made by a concurrent request
            return Annotator.objects.get(user=user)


def label_clean(*, project: Project, value):
    """The label as stored, or ValidationError naming the field and the label set."""
    validator = RowValidator(
        labels=project.labels, multilabel=project.task_type == TaskType.MULTILABEL
    )
    try:
        return orjson.loads(validator.label(value, "label"))
    except RowInvalid as exc:
        raise ValidationError({"label": [str(exc).replace("'label' ", "The label ", 1)]}) from exc


def _live(now) -> Q:
    """A lease that still holds its item: handed out, not submitted, skipped or expired."""
    return Q(annotation__isnull=True, skipped=False, expires_at__gt=now)


def _live_leases(now):
    return (
        Lease.objects.filter(_live(now), item=OuterRef("pk"))
        .order_by()
        .values("item")
        .annotate(n=Count("id"))
        .values("n")
    )


def _candidates(*, project: Project, user, annotator: Annotator):
    """Items this person may take now, best first."""
    return (
        Item.objects.filter(organization_id=project.organization_id, project=project)
        .exclude(Exists(Lease.objects.filter(item=OuterRef("pk"), user=user)))
        .exclude(Exists(Annotation.objects.filter(item=OuterRef("pk"), annotator=annotator)))
        .order_by("-priority", "id")
    )


# Candidates tried per request before answering "nothing left" (each one was taken by someone
# else between the search and the lock): a handful covers any realistic contention.
CLAIM_ATTEMPTS = 8


def _claim_open_item(*, candidates, now) -> Item | None:
    """Lock the best open item that still needs a person. The search's snapshot may predate
    another annotator's lease on it, so once the row is locked (and every lease on it must take
    that lock first) its capacity is counted again in a fresh statement."""
    tried: list[int] = []
    for _ in range(CLAIM_ATTEMPTS):
        item = (
            candidates.filter(status=ItemStatus.OPEN)
            .exclude(pk__in=tried)
            .annotate(live=Coalesce(Subquery(_live_leases(now)), Value(0)))
            .filter(done__lt=F("needed") - F("live"))
            .select_for_update(skip_locked=True, of=("self",))
            .first()
        )
        if item is None:
            return None
        live = Lease.objects.filter(_live(now), item=item).count()
        if item.status == ItemStatus.OPEN and item.done + live < item.needed:
            return item
        tried.append(item.pk)
    return None


@transaction.atomic
def lease_next(*, project: Project, user) -> Lease | None:
    """The caller's current task, or a new lease on the best item for them; None when nothing
    is left for this person. Asking again while a lease is live returns the same task."""
    now = timezone.now()
    # A gold (honeypot) item first at the project's gold rate; gold items stay servable to
    # everyone who has not answered them yet, whatever their overlap.
    gold = bool(project.gold_rate) and random.random() < project.gold_rate
    # Served without its pre-label (when it has one), for the blind share.
    blind = project.prelabels and random.random() < project.blind_share
    expires = now + timedelta(minutes=project.lease_minutes)
    if _statements():
        return _lease_next_sql(
            project=project, user=user, now=now, expires=expires, gold=gold, blind=blind
        )
    live = (
        Lease.objects.filter(
            _live(now), organization_id=project.organization_id, project=project, user=user
        )
        .select_related("item")
        .order_by("created_at", "id")  # after an undo two may be live: the older first
        .first()
    )
    if live is not None:
        return live
    annotator = annotator_for(user)
    candidates = _candidates(project=project, user=user, annotator=annotator)
    item = None
    if gold:
        item = (
            candidates.filter(gold_label__isnull=False)
            .select_for_update(skip_locked=True, of=("self",))
            .first()
        )
    if item is None:
        item = _claim_open_item(candidates=candidates, now=now)
    if item is None:
        return None
    # The candidates exclude every item this person ever held: the lease is always new.
    return Lease.objects.create(
        organization_id=project.organization_id,
        project=project,
        item=item,
        user=user,
        expires_at=expires,
        blind=blind and item.prelabel is not None,
    )


def _lease_next_sql(*, project: Project, user, now, expires, gold: bool, blind: bool):
    """lease_next() in one call: labeling_claim() (labeling/migrations/0007) takes the caller's
    live lease or claims the best item, as the ORM code above does."""
    return postgres.lease_claim(
        organization_id=project.organization_id,
        project_id=project.pk,
        user=user,
        now=now,
        expires=expires,
        gold=gold,
        blind=blind,
        attempts=CLAIM_ATTEMPTS,
    )


def prelabel_shown(*, project: Project, item: Item, lease: Lease | None) -> bool | None:
    return _shown(
        project=project, has_prelabel=item.prelabel is not None, blind=bool(lease and lease.blind)
    )


def _shown(*, project: Project, has_prelabel: bool, blind: bool) -> bool | None:
    """Whether the annotator saw the item's pre-label; None when it has none."""
    if not has_prelabel:
        return None
    return bool(project.prelabels and not blind)


ALREADY_LABELED = "You have labeled this item already."
NEEDS_NO_MORE = "This item needs no more labels; ask for the next task."


@transaction.atomic
def annotation_submit(*, item: Item, user, label, duration_ms: int | None = None) -> Annotation:
    """Record a label. One per person and item: a second (or a retried) submission raises
    Conflict and writes nothing. The item completes when it reaches its overlap. The given item
    is brought up to date (done, status) and is the annotation's `item`. Its usage is counted
    in the same transaction."""
    project = item.project
    value = label_clean(project=project, value=label)
    now = timezone.now()
    submit = _submit_sql if _statements() else _submit_orm
    annotation, completes = submit(
        project=project, item=item, user=user, value=value, duration_ms=duration_ms, now=now
    )
    if completes:
        transaction.on_commit(
            lambda: items_completed.send(
                None,
                organization_id=item.organization_id,
                project_id=item.project_id,
                item_ids=[item.pk],
            )
        )
    return annotation


def _submit_orm(*, project: Project, item: Item, user, value, duration_ms, now):
    """(the new annotation, whether it completes the item), the item locked and brought up to
    date, the usage counted."""
    locked = Item.objects.select_for_update().get(pk=item.pk)
    item.status, item.done = locked.status, locked.done
    annotator = annotator_for(user)
    if (
        Annotation.objects.filter(item=item, annotator=annotator)
        .exclude(source=AnnotationSource.REVIEW)
        .exists()
    ):
        raise Conflict(ALREADY_LABELED)
    lease = Lease.objects.filter(item=item, user=user).first()
    holds = lease is not None and not lease.skipped and lease.annotation_id is None
    holds = holds and lease.expires_at > now
    is_gold = locked.gold_label is not None
    if not holds and not is_gold:
        live = Lease.objects.filter(_live(now), item=item).count()
        if item.status != ItemStatus.OPEN or item.done + live >= item.needed:
            raise Conflict(NEEDS_NO_MORE)
    annotation = Annotation.objects.create(
        organization_id=item.organization_id,
        project_id=item.project_id,
        item=item,
        annotator=annotator,
        label=value,
        source=AnnotationSource.HUMAN,
        duration_ms=duration_ms,
        prelabel_shown=prelabel_shown(project=project, item=locked, lease=lease if holds else None),
        gold_correct=_gold_match(locked.gold_label, value) if is_gold else None,
    )
    if holds:
        Lease.objects.filter(pk=lease.pk).update(annotation=annotation)
    completes = item.status == ItemStatus.OPEN and item.done + 1 >= item.needed
    completion = {"status": ItemStatus.COMPLETE, "completed_at": now} if completes else {}
    Item.objects.filter(pk=item.pk).update(done=F("done") + 1, **completion)
    item.done += 1
    if completes:
        item.status, item.completed_at = ItemStatus.COMPLETE, now
    # An item completes again after consensus asked for one more label (adaptive overlap) or
    # an audit sent it back: it was counted as completed the first time, once is what a client
    # pays for. A first completion is one of an item whose final label was never set.
    counted = completes and locked.labeled_at is None
    # Last before the commit: every submission of the project adds to the same row of the
    # day, and holds its lock from here to the commit.
    usage_add(
        organization_id=item.organization_id,
        project_id=item.project_id,
        annotations=1,
        annotator_seconds=round((duration_ms or 0) / 1000),
        items_completed=int(counted),
        user_id=user.pk,
        turnaround_seconds=(now - locked.created_at).total_seconds() if counted else None,
    )
    return annotation, completes


_REFUSED = {"labeled": ALREADY_LABELED, "full": NEEDS_NO_MORE}


def _submit_sql(*, project: Project, item: Item, user, value, duration_ms, now):
    """_submit_orm() in one call, labeling_submission() (labeling/migrations/0007), which
    counts the usage as billing_usage_annotation() (billing/migrations/0003)."""
    annotator_id = annotator_for(user).pk
    done = postgres.submission(
        item_id=item.pk,
        user=user,
        annotator_id=annotator_id,
        label=value,
        duration_ms=duration_ms,
        now=now,
        day=timezone.localdate(now),
        prelabels=project.prelabels,
    )
    if done.outcome == "gone":
        raise Item.DoesNotExist("No item matches the given query.")
    item.status, item.done = done.item_status, done.item_done
    if done.outcome != "ok":
        raise Conflict(_REFUSED[done.outcome])
    if done.completes:
        item.completed_at = now
    annotation = Annotation(
        pk=done.annotation_id,
        organization_id=item.organization_id,
        project_id=item.project_id,
        item=item,
        annotator_id=annotator_id,
        label=value,
        source=AnnotationSource.HUMAN,
        duration_ms=duration_ms,
        prelabel_shown=done.prelabel_shown,
        gold_correct=done.gold_correct,
        created_at=now,
    )
    annotation._state.adding, annotation._state.db = False, connection.alias
    return annotation, done.completes


def _gold_match(gold, value) -> bool:
    if isinstance(gold, list) and isinstance(value, list):
        return sorted(gold) == sorted(value)
    return gold == value


@transaction.atomic
def item_skip(*, item: Item, user) -> None:
    """Give the task back; this person is not offered the item again."""
    updated = Lease.objects.filter(item=item, user=user, annotation__isnull=True).update(
        skipped=True, expires_at=timezone.now()
    )
    if not updated:
        Lease.objects.get_or_create(
            item=item,
            user=user,
            defaults={
                "organization_id": item.organization_id,
                "project_id": item.project_id,
                "expires_at": timezone.now(),
                "skipped": True,
            },
        )


@transaction.atomic
def annotation_undo(*, annotation: Annotation, user) -> Lease:
    """Take back one's last label while its lease holds: the item returns to this person."""
    lease = Lease.objects.select_for_update().filter(annotation=annotation, user=user).first()
    now = timezone.now()
    if lease is None or lease.expires_at <= now:
        raise Conflict("Too late to undo: the task's lease has expired.")
    item = Item.objects.select_for_update().get(pk=annotation.item_id)
    if item.status == ItemStatus.REVIEW or (item.label is not None):
        raise Conflict("Too late to undo: the item's label is decided.")
    # A gold item keeps taking answers after its overlap: taking one of those back leaves it
    # complete (and its completion counted); only the answer that completed it reopens it.
    was_complete = item.status == ItemStatus.COMPLETE and item.done - 1 < item.needed
    # Only a first completion was counted (annotation_submit): only that one is taken back.
    counted = was_complete and item.labeled_at is None
    Lease.objects.filter(pk=lease.pk).update(annotation=None)
    annotation.delete()
    if was_complete or item.status == ItemStatus.OPEN:
        Item.objects.filter(pk=item.pk).update(
            done=F("done") - 1, status=ItemStatus.OPEN, completed_at=None
        )
    else:
        Item.objects.filter(pk=item.pk).update(done=F("done") - 1)
    usage_add(
        organization_id=item.organization_id,
        project_id=item.project_id,
        annotations=-1,
        annotator_seconds=-round((annotation.duration_ms or 0) / 1000),
        items_completed=-int(counted),
        user_id=user.pk,
        turnaround_seconds=(
            (item.completed_at - item.created_at).total_seconds() if counted else None
        ),
    )
    lease.annotation = None
    lease.item = Item.objects.get(pk=item.pk)
    return lease


def annotator_stats(*, project: Project, user) -> dict:
    """Today's count and gold accuracy of one person on one project."""
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    mine = Annotation.objects.filter(
        organization_id=project.organization_id,
        project=project,
        annotator__user=user,
        source=AnnotationSource.HUMAN,
    )
    gold = mine.filter(gold_correct__isnull=False).aggregate(
        answered=Count("id"), correct=Count("id", filter=Q(gold_correct=True))
    )
    return {
        "today": mine.filter(created_at__gte=start).count(),
        "gold_answered": gold["answered"],
        "gold_accuracy": (gold["correct"] / gold["answered"]) if gold["answered"] else None,
    }
