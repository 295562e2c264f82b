"""Writes of quality assurance: review decisions and AQL audits. Consensus lives in
qa/consensus.py, agreement reports in qa/reports.py."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from labeling import services as labeling_services
from labeling.models import Item, ItemStatus
from tenancy.models import Project

from .consensus import consensus_items, review_open, truth_model_fit  # noqa: F401 (re-exported)
from .models import Audit, ReviewDecision, ReviewReason, ReviewStatus, ReviewTask
from .stats import aql as aql_tables
from .statuses import AUDIT_TRANSITIONS, REVIEW_TRANSITIONS

logger = logging.getLogger(__name__)


class Conflict(Exception):
    """The review or audit is not in a state that allows this (409)."""


def _same(a, b) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return sorted(a) == sorted(b)
    return a == b


@transaction.atomic
def review_decide(*, review: ReviewTask, user, decision: str, label=None) -> ReviewTask:
    """Accept the proposed label or relabel. The decision becomes an annotation with source
    `review` and the item's final label; on an audit sample, a changed label is a defect."""
    if decision not in ReviewDecision.values:
        raise ValidationError({"decision": [f"Choose one of: {', '.join(ReviewDecision.values)}."]})
    review = ReviewTask.objects.select_for_update().get(pk=review.pk)
    if review.status != ReviewStatus.OPEN:
        raise Conflict("This review is decided already.")
    project = review.project
    item = Item.objects.get(pk=review.item_id)
    if decision == ReviewDecision.ACCEPT:
        if label is not None:
            raise ValidationError({"label": ["Only a relabel takes a label."]})
        label = review.proposed_label if review.proposed_label is not None else item.label
        if label is None:
            raise ValidationError({"decision": ["There is no label to accept: relabel the item."]})
    elif label is None:
        raise ValidationError({"label": ["A relabel needs the new label."]})
    try:
        annotation = labeling_services.item_decide(
            project=project, item=item, user=user, label=label
        )
    except ValueError as exc:
        raise Conflict(str(exc)) from exc
    defect = None
    if review.audit_id:
        defect = not _same(annotation.label, review.proposed_label)
    now = timezone.now()
    decided = REVIEW_TRANSITIONS.try_apply(
        review,
        ReviewStatus.DECIDED,
        decision=decision,
        label=annotation.label,
        defect=defect,
        decided_by=user,
        decided_at=now,
    )
    if not decided:
        raise Conflict("This review is decided already.")
    review.refresh_from_db()
    if review.audit_id:
        _audit_count(audit_id=review.audit_id, defect=bool(defect))
    logger.info(
        "review_decided",
        extra={"project_id": project.pk, "review_id": review.pk, "decision": decision},
    )
    return review


# --- audits ---------------------------------------------------------------------------------


@transaction.atomic
def audit_create(*, project: Project, user, seed: int | None = None) -> Audit:
    """Sample the lot of items completed since the previous audit (ISO 2859-1 single sampling,
    normal inspection, general level II, the project's AQL). Each sample becomes a review task
    with reason `audit`; the lot's verdict follows from the defects found."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    previous = Audit.objects.filter(project=project).order_by("-lot_to").first()
    lot_from = previous.lot_to if previous else None
    lot_to = timezone.now()
    lot = Item.objects.filter(
        organization_id=project.organization_id,
        project=project,
        status=ItemStatus.COMPLETE,
        completed_at__lte=lot_to,
    )
    if lot_from is not None:
        lot = lot.filter(completed_at__gt=lot_from)
    lot_ids = list(lot.order_by("id").values_list("id", flat=True))
    if not lot_ids:
        raise ValidationError(
            {"lot": ["No items were completed since the last audit: there is nothing to audit."]}
        )
    plan = aql_tables.aql_plan(lot_size=len(lot_ids), aql=project.aql)
    audit = Audit.objects.create(
        organization_id=project.organization_id,
        project=project,
        lot_from=lot_from,
        lot_to=lot_to,
        lot_size=len(lot_ids),
        aql=project.aql,
        code_letter=plan.code_letter,
        plan_letter=plan.plan_letter,
        sample_size=plan.sample_size,
        accept=plan.accept,
        reject=plan.reject,
        created_by=user,
    )
    sample = aql_tables.sample_items(
        lot_ids, audit.sample_size, seed=audit.pk if seed is None else seed
    )
    labels = dict(Item.objects.filter(pk__in=list(sample)).values_list("pk", "label"))
    ReviewTask.objects.bulk_create(
        [
            ReviewTask(
                organization_id=project.organization_id,
                project=project,
                item_id=item_id,
                reason=ReviewReason.AUDIT,
                detail=f"audit {audit.pk}: AQL {project.aql}, code {plan.code_letter}, "
                f"plan {plan.plan_letter} (n {plan.sample_size}, Ac {plan.accept})",
                proposed_label=labels.get(item_id),
                audit=audit,
            )
            for item_id in sample
        ],
        ignore_conflicts=True,  # an item already waiting for review keeps its open task
    )
    # Samples already in the queue for another reason are inspected through that task.
    audit.sample_size = ReviewTask.objects.filter(audit=audit).count()
    audit.save(update_fields=["sample_size"])
    logger.info(
        "audit_created",
        extra={"project_id": project.pk, "audit_id": audit.pk, "lot": len(lot_ids)},
    )
    return audit


def _audit_count(*, audit_id: int, defect: bool) -> None:
    audit = Audit.objects.select_for_update().get(pk=audit_id)
    audit.inspected += 1
    audit.defects += int(defect)
    fields = ["inspected", "defects"]
    if audit.status == Audit.Status.INSPECTING:
        verdict = None
        if audit.defects >= audit.reject:
            verdict = Audit.Status.REJECTED  # known as soon as Re defects are found
        elif audit.inspected >= audit.sample_size:
            verdict = Audit.Status.ACCEPTED
        audit.save(update_fields=fields)
        if verdict is not None:
            AUDIT_TRANSITIONS.apply(audit, verdict, decided_at=timezone.now())
            if verdict == Audit.Status.REJECTED:
                audit.reworked_items = _audit_rework(audit)
                audit.save(update_fields=["reworked_items"])
        return
    audit.save(update_fields=fields)


def _audit_rework(audit: Audit) -> int:
    """A rejected lot goes back: every item of it that no QA lead has decided asks for one
    more annotation; the open audit samples are closed (the lot's verdict is known)."""
    reworked = labeling_services.items_rework(
        project=audit.project, completed_from=audit.lot_from, completed_to=audit.lot_to
    )
    REVIEW_TRANSITIONS.move(
        ReviewTask.objects.filter(audit=audit),
        ReviewStatus.DECIDED,
        detail=f"audit {audit.pk} rejected: the lot is reworked",
    )
    logger.info("audit_rejected", extra={"audit_id": audit.pk, "reworked": reworked})
    return reworked
