"""Reads of billing: usage, throughput, turnaround and statements of one client organization.

Everything here reads billing's own counters, never labeling's items or annotations: per
month and client, a row per project and day, a row per bucket of turnaround per project and
day, and a row per person, project and day, whatever the volume of work.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Q, Sum
from django.http import Http404
from django.utils import timezone

from core.roles import CLIENT_SIDE
from tenancy.models import Organization, OrganizationKind, Project
from tenancy.selectors import access_organization, user_role

from . import statements, turnaround
from .models import (
    COUNTERS,
    PRICED_COUNTERS,
    DailyUsage,
    PersonDailyUsage,
    ProjectSla,
    RateCard,
    TurnaroundBucket,
)
from .periods import UsageRange, month_parse

# The currency of a statement for a client that has no rate card yet.
DEFAULT_CURRENCY = "USD"
# A project's turnaround target holds on a day when this share of its completions met it.
SLA_PERCENTILE = 90


def access_billed_organization(*, user, organization_id: int | str) -> Organization:
    """A client organization whose billing the caller may read. Another tenant's is not found
    (404); the vendor's workforce sees its own organization but no billing (403); the vendor
    organization itself is not billed (404)."""
    organization = access_organization(user=user, organization_id=organization_id)
    if user_role(user) not in CLIENT_SIDE:
        raise PermissionDenied("Only operators and the client's people see its usage.")
    if organization.kind != OrganizationKind.CLIENT:
        raise Http404("Only client organizations are billed.")
    return organization


# --- usage ----------------------------------------------------------------------------------


def _scoped(model, organization: Organization, usage_range: UsageRange, *, to_date=False):
    rows = model.objects.filter(organization=organization, day__lte=usage_range.end)
    if not to_date:
        rows = rows.filter(day__gte=usage_range.start)
    if usage_range.project is not None:
        rows = rows.filter(project=usage_range.project)
    return rows


def usage_rows(*, organization: Organization, usage_range: UsageRange) -> list[dict]:
    """The daily rows of the range, by day then project."""
    rows = (
        _scoped(DailyUsage, organization, usage_range)
        .order_by("day", "project_id")
        .values_list("day", "project_id", "project__name", *COUNTERS)
    )
    return [
        {
            "day": day,
            "project": project_id,
            "project_name": name,
            **dict(zip(COUNTERS, values, strict=True)),
        }
        for day, project_id, name, *values in rows
    ]


# --- throughput -----------------------------------------------------------------------------


def throughput(*, organization: Organization, usage_range: UsageRange) -> dict:
    """What the dashboard shows: per day, per project, per person, turnaround and SLA breaches.
    Seven queries on billing's counters, each answered by an aggregate in the database."""
    per_day = {
        row["day"]: row
        for row in _scoped(DailyUsage, organization, usage_range)
        .order_by()
        .values("day")
        .annotate(**{name: Sum(name) for name in COUNTERS})
    }
    days = [
        {"day": day, **{name: (per_day.get(day) or {}).get(name) or 0 for name in COUNTERS}}
        for day in usage_range.days
    ]
    totals = {name: sum(day[name] for day in days) for name in COUNTERS}

    in_range = Q(day__gte=usage_range.start)
    per_project = {
        row["project_id"]: row
        for row in _scoped(DailyUsage, organization, usage_range, to_date=True)
        .order_by()
        .values("project_id")
        .annotate(
            imported_to_date=Sum("items_imported"),
            completed_to_date=Sum("items_completed"),
            items_completed=Sum("items_completed", filter=in_range),
            annotations=Sum("annotations", filter=in_range),
        )
    }
    people = _person_totals(organization, usage_range)
    targets = dict(
        ProjectSla.objects.filter(organization=organization).values_list(
            "project_id", "target_hours"
        )
    )
    overall: dict[int, int] = defaultdict(int)
    by_project: dict[int, dict[int, int]] = defaultdict(dict)
    for project_id, bucket, items in (
        _scoped(TurnaroundBucket, organization, usage_range)
        .order_by()
        .values("project_id", "bucket")
        .annotate(items_sum=Sum("items"))
        .values_list("project_id", "bucket", "items_sum")
    ):
        by_project[project_id][bucket] = items
        overall[bucket] += items

    projects = Project.objects.filter(organization=organization).order_by("name")
    if usage_range.project is not None:
        projects = projects.filter(pk=usage_range.project.pk)
    names = dict(projects.values_list("pk", "name"))
    breaches = []
    for project_id, day, bucket, completed in _daily_percentile_buckets(
        organization, usage_range, [pk for pk in targets if pk in names], SLA_PERCENTILE
    ):
        p90 = turnaround.upper_edge(bucket)
        if p90 > targets[project_id] * 3600:
            breaches.append(
                {
                    "day": day,
                    "project": project_id,
                    "project_name": names[project_id],
                    "items_completed": completed,
                    "p90_seconds": _seconds(p90),
                    "sla_hours": targets[project_id],
                }
            )
    project_rows = []
    for project_id, name in names.items():
        row = per_project.get(project_id) or {}
        counts = by_project.get(project_id, {})
        project_rows.append(
            {
                "project": project_id,
                "project_name": name,
                "items_completed": row.get("items_completed") or 0,
                "annotations": row.get("annotations") or 0,
                "backlog": (row.get("imported_to_date") or 0) - (row.get("completed_to_date") or 0),
                "p50_seconds": _seconds(turnaround.percentile(counts, 50)),
                "p90_seconds": _seconds(turnaround.percentile(counts, 90)),
                "sla_hours": targets.get(project_id),
                "sla_breaches": sum(1 for b in breaches if b["project"] == project_id),
            }
        )
    for person in people:
        seconds = person["annotator_seconds"]
        person["annotations_per_hour"] = (
            round(person["annotations"] * 3600 / seconds, 1) if seconds > 0 else None
        )
    return {
        "from": usage_range.start,
        "to": usage_range.end,
        "project": usage_range.project.pk if usage_range.project else None,
        "days": days,
        "totals": totals,
        "backlog": sum(row["backlog"] for row in project_rows),
        "turnaround": {
            "items_completed": sum(n for n in overall.values() if n > 0),
            "p50_seconds": _seconds(turnaround.percentile(overall, 50)),
            "p90_seconds": _seconds(turnaround.percentile(overall, 90)),
            "resolution": turnaround.RESOLUTION,
        },
        "projects": project_rows,
        "annotators": people,
        "sla_breaches": breaches,
    }


def _person_totals(organization: Organization, usage_range: UsageRange) -> list[dict]:
    """Each person's work in the range, most annotations first. Summed per (person, day)
    first, then per person: two hash aggregates, where counting distinct days in one pass
    would sort every row (a client's month can hold 100,000+ of them)."""
    table = PersonDailyUsage._meta.db_table
    users = get_user_model()._meta.db_table
    params: list = [organization.pk, usage_range.start, usage_range.end]
    project = ""
    if usage_range.project is not None:
        project = " AND project_id = %s"
        params.append(usage_range.project.pk)
    sql = f"""
        SELECT d.user_id, u.username, SUM(d.annotations), SUM(d.reviews), SUM(d.seconds),
               SUM(CASE WHEN d.annotations <> 0 OR d.reviews <> 0 THEN 1 ELSE 0 END)
        FROM (
            SELECT user_id, day, SUM(annotations) AS annotations, SUM(reviews) AS reviews,
                   SUM(annotator_seconds) AS seconds
            FROM {table}
            WHERE organization_id = %s AND day >= %s AND day <= %s{project}
            GROUP BY user_id, day
        ) d
        JOIN {users} u ON u.id = d.user_id
        GROUP BY d.user_id, u.username
        ORDER BY SUM(d.annotations) DESC, u.username
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    names = ("user", "username", "annotations", "reviews", "annotator_seconds", "active_days")
    return [
        dict(zip(names, (user, name, *(int(v or 0) for v in values)), strict=True))
        for user, name, *values in rows
    ]


def _daily_percentile_buckets(
    organization: Organization, usage_range: UsageRange, project_ids: list[int], percent: int
) -> list[tuple]:
    """(project, day, bucket of the day's percentile, items completed that day) for each day
    with completions of the given projects: the nearest-rank bucket (turnaround.percentile),
    found by a running sum in the database rather than by reading every bucket row here."""
    if not project_ids:
        return []
    table = TurnaroundBucket._meta.db_table
    sql = f"""
        SELECT project_id, day, bucket, total FROM (
            SELECT project_id, day, bucket, items,
                   CAST(SUM(items) OVER (same_day ORDER BY bucket) AS BIGINT) AS running,
                   CAST(SUM(items) OVER same_day AS BIGINT) AS total
            FROM {table}
            WHERE organization_id = %s AND day >= %s AND day <= %s AND items > 0
              AND project_id IN ({", ".join(["%s"] * len(project_ids))})
            WINDOW same_day AS (PARTITION BY project_id, day)
        ) ranked
        WHERE running * 100 >= %s * total AND (running - items) * 100 < %s * total
        ORDER BY day, project_id
    """
    params = [organization.pk, usage_range.start, usage_range.end, *project_ids, percent, percent]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# --- rate cards and statements --------------------------------------------------------------


def rate_cards_overlapping(start: datetime.date, end: datetime.date | None) -> Q:
    """Cards whose period shares a day with start..end (end None: open-ended)."""
    condition = Q(effective_to__isnull=True) | Q(effective_to__gte=start)
    if end is not None:
        condition &= Q(effective_from__lte=end)
    return condition


def rate_card_list(*, organization: Organization):
    return RateCard.objects.filter(organization=organization).order_by("-effective_from")


def project_sla(*, project: Project) -> ProjectSla | None:
    return ProjectSla.objects.filter(project=project).first()


def statement_for(*, organization: Organization, month: str) -> statements.Statement:
    """The month's statement, computed from the counters and the rate cards (two queries)."""
    first, last = month_parse(month)
    cards = list(
        RateCard.objects.filter(organization=organization).filter(
            rate_cards_overlapping(first, last)
        )
    )
    spans = statements.split_month(first=first, last=last, cards=cards)
    sums = {
        f"p{n}_{counter}": Sum(counter, filter=Q(day__gte=start, day__lte=end))
        for n, (start, end, _) in enumerate(spans)
        for _, counter, _ in PRICED_COUNTERS
    }
    counted = DailyUsage.objects.filter(
        organization=organization, day__gte=first, day__lte=last
    ).aggregate(**sums)
    periods = [
        statements.Period(
            start=start,
            end=end,
            card=card,
            quantities={
                counter: counted[f"p{n}_{counter}"] or 0 for _, counter, _ in PRICED_COUNTERS
            },
        )
        for n, (start, end, card) in enumerate(spans)
    ]
    lines, total, warnings = statements.price(periods=periods)
    if cards:
        currency = cards[0].currency
    else:
        latest = (
            RateCard.objects.filter(organization=organization, effective_from__lte=last)
            .order_by("-effective_from")
            .first()
        )
        currency = latest.currency if latest else DEFAULT_CURRENCY
    return statements.Statement(
        organization_id=organization.pk,
        month=first.strftime("%Y-%m"),
        currency=currency,
        closed=last < timezone.localdate(),
        lines=lines,
        total=total,
        warnings=warnings,
    )
