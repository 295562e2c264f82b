"""Walking a big table in primary-key order, a batch at a time (Sentry's
RangeQuerySetWrapper): each batch is one indexed range read, so memory stays flat and no
OFFSET grows with the walk."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet


def keyset_batches(queryset: QuerySet, *, size: int, after: int = 0) -> Iterator[list]:
    """Lists of up to `size` rows of `queryset` by ascending pk, starting after pk `after`.
    Rows are model instances, or tuples/dicts from values_list()/values() that hold the pk
    first (values_list) or as "pk"/"id" (values)."""
    queryset = queryset.order_by("pk")
    while True:
        batch = list(queryset.filter(pk__gt=after)[:size])
        if not batch:
            return
        yield batch
        if len(batch) < size:
            return
        after = _pk_of(batch[-1])


def _pk_of(row) -> int:
    if isinstance(row, dict):
        return row["pk"] if "pk" in row else row["id"]
    if isinstance(row, tuple):
        return row[0]
    return row.pk
