"""The task queue: leases, submissions, skips and undo (services of the annotation workflow).

Who gets what: an annotator is never handed an item twice, and an item is never held by more
people than its remaining overlap needs (done + live leases < needed). Order: priority, then
age. The claim locks the chosen item row with SKIP LOCKED, so concurrent annotators neither
collide nor wait for each other. The claim and the submission are one call each of a
server-side function (postgres.py; their SQL is labeling/sql/); this module decides what comes
before them (the draws, the label's validation) and builds the answer.
"""

from __future__ import annotations

import random
from datetime import timedelta

import orjson
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from billing.services import usage_add
from core.outbox import outbox_deliver_on_commit
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
from . import postgres


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


# Candidates tried per request before answering "nothing left" (each one was taken by someone
# else between the search and the lock): a handful covers any realistic contention.
CLAIM_ATTEMPTS = 8


def lease_next(*, project: Project, user) -> Lease | None:
    """The caller's current task, or a new lease on the best item for them; None when nothing
    is left for this person. Asking again while a lease is live returns the same task. One
    statement, atomic by itself: outside a transaction it needs no BEGIN and COMMIT."""
    now = timezone.now()
    # A gold (honeypot) item first at the project's gold rate; gold items stay servable to
    # everyone who has not answered them yet, whatever their overlap.
    gold = bool(project.gold_rate) and random.random() < project.gold_rate
    # Served without its pre-label (when it has one), for the blind share.
    blind = project.prelabels and random.random() < project.blind_share
    expires = now + timedelta(minutes=project.lease_minutes)
    # labeling_claim() (labeling/sql/): the caller's live lease, or a claim of the best item.
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


def annotation_submit(*, item: Item, user, label, duration_ms: int | None = None) -> Annotation:
    """Record a label. One per person and item: a second (or a retried) submission raises
    Conflict and writes nothing. The item completes when it reaches its overlap. The given item
    is brought up to date (done, status) and is the annotation's `item`. Its usage is counted
    in the same statement, which is atomic by itself (no BEGIN and COMMIT outside a
    transaction). A completion's outbox message is written in that statement too and delivered
    once it is committed (items_completed); a delivery that fails is logged and left to the
    outbox's sweep: the label is saved whatever the broker does."""
    project = item.project
    value = label_clean(project=project, value=label)
    now = timezone.now()
    annotation, outbox_id = _submit(
        project=project, item=item, user=user, value=value, duration_ms=duration_ms, now=now
    )
    if outbox_id is not None:
        outbox_deliver_on_commit(outbox_id)
    return annotation


_REFUSED = {"labeled": ALREADY_LABELED, "full": NEEDS_NO_MORE}


def _submit(*, project: Project, item: Item, user, value, duration_ms, now):
    """(the new annotation, its completion's outbox message or None), the given item brought up
    to date: one call of labeling_submission() (labeling/sql/), which counts the usage as
    billing_usage_annotation() (billing/sql/) in the same statement."""
    call = {
        "item_id": item.pk,
        "user": user,
        "label": value,
        "duration_ms": duration_ms,
        "now": now,
        "day": timezone.localdate(now),
        "prelabels": project.prelabels,
    }
    done = postgres.submission(annotator_id=None, **call)
    if done.outcome == "no_annotator":  # the person's first label: their identity first
        done = postgres.submission(annotator_id=annotator_for(user).pk, **call)
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
        annotator_id=done.annotator_id,
        label=value,
        source=AnnotationSource.HUMAN,
        duration_ms=duration_ms,
        prelabel_shown=done.prelabel_shown,
        gold_correct=done.gold_correct,
        created_at=now,
    )
    annotation._state.adding, annotation._state.db = False, connection.alias
    return annotation, done.outbox_id if done.completes else None


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
