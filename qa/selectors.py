"""Reads of quality assurance, always scoped to what the caller may see."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from core.params import parse_id
from core.roles import PROJECT_READERS, REVIEWERS
from labeling.models import Item
from tenancy.models import Project
from tenancy.selectors import project_list_for, user_may_review, user_role

from .models import Audit, ReviewStatus, ReviewTask


def user_may_read_reports(*, user) -> bool:
    return user_role(user) in PROJECT_READERS


def user_may_read_reviews(*, user) -> bool:
    return user_role(user) in REVIEWERS


def review_list(
    *,
    project: Project,
    status: str | None = None,
    reason: str | None = None,
    audit_id: int | None = None,
) -> QuerySet[ReviewTask]:
    reviews = ReviewTask.objects.filter(
        organization_id=project.organization_id, project=project
    ).select_related("decided_by", "audit")
    if status:
        reviews = reviews.filter(status=status)
    if reason:
        reviews = reviews.filter(reason=reason)
    if audit_id:
        reviews = reviews.filter(audit_id=audit_id)
    return reviews.order_by("created_at", "id")


def review_counts(*, project: Project) -> dict[str, int]:
    rows = ReviewTask.objects.filter(
        organization_id=project.organization_id, project=project, status=ReviewStatus.OPEN
    ).values_list("reason", flat=True)
    counts: dict[str, int] = {}
    for reason in rows:
        counts[reason] = counts.get(reason, 0) + 1
    return counts


def access_review(*, user, review_id) -> ReviewTask:
    """A review task through the caller's project scope: 404 for missing and not-yours."""
    try:
        return ReviewTask.objects.select_related("project__organization", "audit").get(
            pk=parse_id(review_id), project__in=project_list_for(user=user)
        )
    except (ValueError, TypeError, ReviewTask.DoesNotExist) as exc:
        raise Http404("No review matches the given query.") from exc


def audit_list(*, project: Project) -> QuerySet[Audit]:
    return Audit.objects.filter(organization_id=project.organization_id, project=project)


def access_audit(*, user, audit_id) -> Audit:
    try:
        return Audit.objects.select_related("project__organization").get(
            pk=parse_id(audit_id), project__in=project_list_for(user=user)
        )
    except (ValueError, TypeError, Audit.DoesNotExist) as exc:
        raise Http404("No audit matches the given query.") from exc


def review_items(*, reviews) -> dict[int, Item]:
    """The items of a page of reviews, with their annotations, in two queries."""
    ids = [review.item_id for review in reviews]
    return {
        item.pk: item
        for item in Item.objects.filter(pk__in=ids).prefetch_related("annotations__annotator")
    }


__all__ = ["user_may_review"]
