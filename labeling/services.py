"""Writes of labeling data. Imports live in labeling/imports/ (a package: they are large) and
the task queue in labeling/queue.py; their entry points are re-exported here so that other apps
find every service in one place. Below: what quality assurance decides about items, applied
through the item transition table (statuses.py), each a conditional UPDATE so that a decision
racing an undo or a second worker changes nothing it should not."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import orjson
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from billing.services import usage_add
from tenancy.models import Project

from .imports.services import import_job_create, import_job_run
from .models import Annotation, AnnotationSource, Annotator, AnnotatorKind, Item, ItemStatus
from .queue import annotator_for, label_clean
from .statuses import ITEM_TRANSITIONS

__all__ = [
    "import_job_create",
    "import_job_run",
    "item_consensus_set",
    "item_decide",
    "item_overlap_extend",
    "item_review_send",
    "items_consensus_bulk_set",
    "items_rework",
    "label_clean",
]


def _items(project: Project):
    return Item.objects.filter(organization_id=project.organization_id, project=project)


def item_consensus_set(*, project: Project, item_id: int, label, confidence: float | None) -> bool:
    """The consensus label of a complete item (False: the item is no longer complete). An
    unchanged label is not written again: its labeled_at (incremental exports) stays."""
    items = _items(project).filter(pk=item_id, status=ItemStatus.COMPLETE)
    changed = items.exclude(label=label, confidence=confidence).update(
        label=label, confidence=confidence, labeled_at=timezone.now()
    )
    return bool(changed) or items.exists()


def item_overlap_extend(*, project: Project, item_id: int, confidence: float | None) -> bool:
    """Adaptive overlap: a doubtful complete item asks for one more annotation, up to the
    project's maximum (False when it has that many already or is no longer complete)."""
    return bool(
        ITEM_TRANSITIONS.move(
            _items(project).filter(
                pk=item_id, status=ItemStatus.COMPLETE, needed__lt=project.max_overlap
            ),
            ItemStatus.OPEN,
            needed=F("needed") + 1,
            label=None,
            confidence=confidence,
            completed_at=None,
            labeled_at=timezone.now(),
        )
    )


def item_review_send(*, project: Project, item_id: int, label, confidence: float | None) -> bool:
    """A complete item goes to the review queue, with the label consensus proposes (if any)."""
    return bool(
        ITEM_TRANSITIONS.move(
            _items(project).filter(pk=item_id),
            ItemStatus.REVIEW,
            label=label,
            confidence=confidence,
            labeled_at=timezone.now(),
        )
    )


def items_review_send_bulk(
    *, project: Project, item_ids: Sequence[int], labels: Sequence, confidences: Sequence
) -> list[int]:
    """item_review_send() of many items, in one statement: the ids sent."""
    sql = (
        f"UPDATE {Item._meta.db_table} AS i SET status = %s, label = v.label, "
        f"confidence = v.confidence, labeled_at = now() FROM {_VALUES} "
        "WHERE i.id = v.id AND i.organization_id = %s AND i.project_id = %s "
        "AND i.status = ANY(%s) RETURNING i.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                ItemStatus.REVIEW,
                *_values(item_ids, labels, confidences),
                project.organization_id,
                project.pk,
                ITEM_TRANSITIONS.sources(ItemStatus.REVIEW),
            ],
        )
        return [row[0] for row in cursor.fetchall()]


# Per-item values of a bulk UPDATE, as the three arrays _values() makes.
_VALUES = "unnest(%s::bigint[], %s::jsonb[], %s::float8[]) AS v(id, label, confidence)"


def _values(item_ids: Sequence[int], labels: Sequence, confidences: Sequence) -> list[list]:
    """_VALUES' parameters; a None label or confidence is SQL NULL (as the ORM writes it)."""
    return [
        [int(i) for i in item_ids],
        [None if label is None else orjson.dumps(label).decode() for label in labels],
        [None if c is None else float(c) for c in confidences],
    ]


@transaction.atomic
def item_decide(*, project: Project, item: Item, user, label) -> Annotation:
    """A QA lead's decision: an annotation with source `review`, and the item's final label.
    The label is validated against the project's set (ValidationError naming `label`)."""
    value = label_clean(project=project, value=label)
    item = _items(project).select_for_update().get(pk=item.pk)
    if (
        not ITEM_TRANSITIONS.allowed(item.status, ItemStatus.COMPLETE)
        or item.status == ItemStatus.OPEN
    ):
        # An open item is still being labeled (an undo or a rework reopened it).
        raise ValueError(f"item {item.pk} is {item.status}: only finished items are decided")
    annotation = Annotation.objects.create(
        organization_id=item.organization_id,
        project_id=item.project_id,
        item=item,
        annotator=annotator_for(user),
        label=value,
        source=AnnotationSource.REVIEW,
    )
    now = timezone.now()
    ITEM_TRANSITIONS.move(
        _items(project).filter(pk=item.pk),
        ItemStatus.COMPLETE,
        label=value,
        confidence=1.0,
        completed_at=item.completed_at or now,
        labeled_at=now,
    )
    usage_add(
        organization_id=item.organization_id,
        project_id=item.project_id,
        user_id=user.pk,
        reviews=1,
        idempotency_key=f"review:{annotation.pk}",
    )
    return annotation


def _decided_by_review():
    return Exists(Annotation.objects.filter(item=OuterRef("pk"), source=AnnotationSource.REVIEW))


# Rows per UPDATE of a bulk consensus write: three arrays of this length travel as parameters
# (about 2 MB of JSON labels at 50,000), and each statement's lock set stays small.
CONSENSUS_WRITE_BATCH = 50_000


def items_consensus_bulk_set(
    *,
    project: Project,
    item_ids: Sequence[int],
    labels: Sequence,
    confidences: Sequence[float | None],
) -> int:
    """Write consensus labels onto complete items (a project-wide Dawid-Skene refit, or a batch
    of items consensus decided): the complete -> complete transition. Items a QA lead decided
    keep their decision; an unchanged label is not written again (its labeled_at stays).
    Returns how many rows changed."""
    changed = 0
    table = Item._meta.db_table
    annotation_table = Annotation._meta.db_table
    sql = (
        f"UPDATE {table} AS i SET label = v.label, confidence = v.confidence, "
        f"labeled_at = now() FROM {_VALUES} "
        "WHERE i.id = v.id AND i.organization_id = %s AND i.project_id = %s "
        "AND i.status = 'complete' "
        "AND (i.label IS DISTINCT FROM v.label OR i.confidence IS DISTINCT FROM v.confidence) "
        f"AND NOT EXISTS (SELECT 1 FROM {annotation_table} a "
        "WHERE a.item_id = i.id AND a.source = 'review')"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(item_ids), CONSENSUS_WRITE_BATCH):
            stop = start + CONSENSUS_WRITE_BATCH
            cursor.execute(
                sql,
                [
                    *_values(item_ids[start:stop], labels[start:stop], confidences[start:stop]),
                    project.organization_id,
                    project.pk,
                ],
            )
            changed += cursor.rowcount
    return changed


def items_rework(*, project: Project, completed_from, completed_to, exclude_ids=()) -> int:
    """A rejected audit lot goes back: each complete item of the lot asks for one more
    annotation and loses its label until consensus runs again. Returns how many."""
    items = _items(project).filter(status=ItemStatus.COMPLETE, completed_at__lte=completed_to)
    if completed_from is not None:
        items = items.filter(completed_at__gt=completed_from)
    return ITEM_TRANSITIONS.move(
        items.exclude(pk__in=list(exclude_ids)).exclude(_decided_by_review()),
        ItemStatus.OPEN,
        needed=F("needed") + 1,
        label=None,
        confidence=None,
        completed_at=None,
        labeled_at=timezone.now(),
    )


# Pre-labels: the prelabels app's models predict them, labeling owns the rows they land in.
class ItemPrelabel(NamedTuple):
    """A model's pre-label of an open item: its label and calibrated confidence, the queue
    priority it earns, and how many people it needs (1: one person confirms it)."""

    item_id: int
    label: str
    confidence: float
    priority: float
    needed: int


def annotator_for_model(*, project: Project) -> Annotator:
    """The project's model as an annotator (one per project: every model version writes as it)."""
    name = f"model:p{project.pk}"
    lookup = {"organization_id": project.organization_id, "kind": AnnotatorKind.MODEL}
    try:
        with transaction.atomic():
            return Annotator.objects.get_or_create(**lookup, name=name, user=None)[0]
    except IntegrityError:  # made by a concurrent task
        return Annotator.objects.get(**lookup, name=name, user=None)


@transaction.atomic
def item_prelabels_set(*, project: Project, predictions: Sequence[ItemPrelabel]) -> list[int]:
    """Write pre-labels, priorities and overlaps onto the items that are still open, and record
    each pre-label as an annotation (source `model`) of the project's model annotator, replacing
    its earlier one; consensus never counts these, nor does an item's `done`. An item completed
    meanwhile keeps what its annotators decided. Returns the ids written."""
    annotator = annotator_for_model(project=project)
    # done and needed as they are now, under the rows' locks.
    open_now = {
        pk: (done, needed)
        for pk, done, needed in _items(project)
        .filter(pk__in=[p.item_id for p in predictions], status=ItemStatus.OPEN)
        .select_for_update()
        .values_list("pk", "done", "needed")
    }
    items = []
    for prediction in predictions:
        if prediction.item_id not in open_now:
            continue
        done, needed = open_now[prediction.item_id]
        if prediction.needed == 1:
            # One person confirms a confident pre-label; an item somebody has labeled already
            # needs one more (never done == needed while open: nothing would complete it).
            needed = done + 1
        else:
            needed = max(needed, prediction.needed)
        items.append(
            Item(
                pk=prediction.item_id,
                prelabel=prediction.label,
                prelabel_confidence=prediction.confidence,
                priority=prediction.priority,
                needed=needed,
            )
        )
    ids = [item.pk for item in items]
    Item.objects.bulk_update(items, ["prelabel", "prelabel_confidence", "priority", "needed"])
    Annotation.objects.filter(
        organization_id=project.organization_id,
        annotator=annotator,
        item_id__in=ids,
        source=AnnotationSource.MODEL,
    ).delete()
    Annotation.objects.bulk_create(
        Annotation(
            organization_id=project.organization_id,
            project=project,
            item_id=item.pk,
            annotator=annotator,
            label=item.prelabel,
            source=AnnotationSource.MODEL,
        )
        for item in items
    )
    return ids
