"""Reads of labeling data, always scoped to what the caller may see."""

from django.db.models import Count, Q

from .models import Item, ItemStatus


def item_counts_by_project(project_ids: list[int]) -> dict[int, dict[str, int]]:
    """{project_id: {items, completed, in_review}} in one grouped query."""
    rows = (
        Item.objects.filter(project_id__in=project_ids)
        .values("project_id")
        .annotate(
            items=Count("id"),
            completed=Count("id", filter=Q(status=ItemStatus.COMPLETE)),
            in_review=Count("id", filter=Q(status=ItemStatus.REVIEW)),
        )
    )
    return {
        row["project_id"]: {
            "items": row["items"],
            "completed": row["completed"],
            "in_review": row["in_review"],
        }
        for row in rows
    }
