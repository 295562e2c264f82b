"""Reads of labeling data, always scoped to what the caller may see."""

from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from core.iterators import keyset_batches
from core.params import parse_id
from tenancy.models import Project
from tenancy.selectors import project_list_for, project_read
from tenancy.sqlrows import Columns

from .models import Annotation, Dataset, ImportJob, Item, ItemStatus


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


def import_job_list(*, project) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(
        organization_id=project.organization_id, project=project
    ).select_related("dataset")


def access_import_job(*, user, job_id) -> ImportJob:
    """An import job through the caller's project scope: 404 for missing and not-yours alike."""
    try:
        return ImportJob.objects.select_related("project__organization", "dataset").get(
            pk=parse_id(job_id), project__in=project_list_for(user=user)
        )
    except (ValueError, TypeError, ImportJob.DoesNotExist) as exc:
        raise Http404("No import job matches the given query.") from exc


def dataset_list(*, project) -> QuerySet[Dataset]:
    return (
        Dataset.objects.filter(organization_id=project.organization_id, project=project)
        .annotate(item_count=Count("items"))
        .order_by("-created_at")
    )


def item_page(
    *, project, status: str | None, dataset_id: int | None, after_id: int | None, limit: int
) -> list[Item]:
    """Items in id order after a cursor: index range scans however deep the page. Without a
    status, one range per status is read (at most `limit` rows each) and merged."""
    items = Item.objects.filter(organization_id=project.organization_id, project=project)
    if dataset_id:
        items = items.filter(dataset_id=dataset_id)
    if after_id:
        items = items.filter(id__gt=after_id)
    if status:
        return list(items.filter(status=status).order_by("id")[:limit])
    ranges = [items.filter(status=value).order_by("id")[:limit] for value in ItemStatus.values]
    return list(ranges[0].union(*ranges[1:], all=True).order_by("id")[:limit])


_ITEM = Columns(Item, "i")


def access_item(*, user, item_id) -> Item:
    """The item with its project (and the project's organization), through the caller's scope.
    Every submission asks it: one hand-written statement (tenancy.sqlrows)."""
    read = project_read(user=user)
    try:
        item_id = parse_id(item_id)
    except (ValueError, TypeError) as exc:
        raise Http404("No item matches the given query.") from exc
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT {_ITEM.sql}, {read.columns} FROM "{Item._meta.db_table}" i '
            f'JOIN "{Project._meta.db_table}" p ON p."id" = i."project_id" {read.joins} '
            f'WHERE {read.condition} AND i."id" = %s',
            [*read.params, item_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise Http404("No item matches the given query.")
    item = _ITEM.instance(row)
    item.project = read.project(row)
    return item


def item_annotations(*, item) -> QuerySet[Annotation]:
    return (
        Annotation.objects.filter(organization_id=item.organization_id, item=item)
        .select_related("annotator")
        .order_by("created_at", "id")
    )


def access_own_annotation(*, user, annotation_id) -> Annotation:
    """One of the caller's own annotations, in a project the caller still sees."""
    try:
        return Annotation.objects.select_related("item").get(
            pk=parse_id(annotation_id),
            annotator__user=user,
            project__in=project_list_for(user=user),
        )
    except (ValueError, TypeError, Annotation.DoesNotExist) as exc:
        raise Http404("No annotation matches the given query.") from exc


def recent_items(*, project, limit: int) -> list[Item]:
    """The newest finished items (complete or in review), by id: one backward range scan of
    the (organization, project, status, id) index per status, however big the project."""
    items = Item.objects.filter(organization_id=project.organization_id, project=project)
    found = [
        item
        for status in (ItemStatus.COMPLETE, ItemStatus.REVIEW)
        for item in items.filter(status=status).order_by("-id")[:limit]
    ]
    return sorted(found, key=lambda item: -item.pk)[:limit]


def item_known_labels(*, project, chunk_size: int) -> Iterator[tuple[int, Any, Any]]:
    """(id, data, label) of every item whose label is known, by id: a complete item's final
    label, else its gold label. Streamed `chunk_size` rows at a time."""
    rows = (
        Item.objects.filter(organization_id=project.organization_id, project=project)
        .filter(Q(status=ItemStatus.COMPLETE, label__isnull=False) | Q(gold_label__isnull=False))
        .order_by("id")
        .values_list("id", "data", "label", "gold_label", "status")
    )
    for item_id, data, label, gold, status in rows.iterator(chunk_size=chunk_size):
        yield item_id, data, label if status == ItemStatus.COMPLETE and label is not None else gold


def item_open_batches(*, project, size: int) -> Iterator[list[tuple[int, Any]]]:
    """(id, data) of the project's open items, by id, `size` at a time (keyset pages)."""
    items = Item.objects.filter(
        organization_id=project.organization_id, project=project, status=ItemStatus.OPEN
    )
    return keyset_batches(items.values_list("id", "data"), size=size)
