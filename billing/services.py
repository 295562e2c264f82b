"""The metering service: the one way labeling and qa record billable work."""

from __future__ import annotations

import datetime

from django.db import connection
from django.db.models import F
from django.utils import timezone

from .models import COUNTERS, DailyUsage


def usage_add(
    *, organization_id: int, project_id: int, day: datetime.date | None = None, **counters: int
) -> None:
    """Add to the day's counters of a project. Call it inside the transaction of the work it
    counts: the count then commits or rolls back with that work, and a retried task whose work
    committed already finds nothing left to do (and counts nothing)."""
    unknown = set(counters) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown usage counters: {sorted(unknown)}")
    counters = {name: int(value) for name, value in counters.items() if value}
    if not counters:
        return
    day = day or timezone.localdate()
    if connection.vendor == "postgresql":
        # One statement, safe under concurrency: insert the day's row or add to it.
        table = DailyUsage._meta.db_table
        names = list(counters)
        sql = (
            f"INSERT INTO {table} (organization_id, project_id, day, "
            f"{', '.join(COUNTERS)}) VALUES (%s, %s, %s, {', '.join(['%s'] * len(COUNTERS))}) "
            "ON CONFLICT (organization_id, project_id, day) DO UPDATE SET "
            + ", ".join(f"{n} = {table}.{n} + EXCLUDED.{n}" for n in names)
        )
        params = [organization_id, project_id, day, *(counters.get(n, 0) for n in COUNTERS)]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    row, created = DailyUsage.objects.get_or_create(
        organization_id=organization_id, project_id=project_id, day=day, defaults=counters
    )
    if not created:
        DailyUsage.objects.filter(pk=row.pk).update(
            **{name: F(name) + value for name, value in counters.items()}
        )
