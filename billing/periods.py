"""Periods of billing reads: a range of days (with an optional project) parsed from query
parameters, and calendar months."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone

from core.params import DATE_MIN, Invalid, Params, parse_month
from tenancy.models import Organization, Project

# The longest range one usage or throughput request may ask for.
MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30


@dataclass(frozen=True)
class UsageRange:
    start: datetime.date
    end: datetime.date
    project: Project | None

    @property
    def days(self) -> list[datetime.date]:
        return [
            self.start + datetime.timedelta(days=n) for n in range((self.end - self.start).days + 1)
        ]


def usage_range_parse(*, organization: Organization, params) -> UsageRange:
    """`from`, `to` (YYYY-MM-DD, both included; by default the last 30 days to today) and
    `project` (an id of the organization's) from query parameters; ValidationError naming
    every bad one otherwise."""
    reader = Params(params)
    end = reader.date("to")
    start = reader.date("from")
    project_id = reader.id("project")
    if not reader.errors:
        end = end or timezone.localdate()
        start = start or max(end - datetime.timedelta(days=DEFAULT_RANGE_DAYS - 1), DATE_MIN)
        if start > end:
            reader.error("to", "The range ends before it starts.")
        elif (end - start).days + 1 > MAX_RANGE_DAYS:
            reader.error("to", f"At most {MAX_RANGE_DAYS} days at a time.")
    project = None
    if project_id is not None:
        project = Project.objects.filter(organization=organization, pk=project_id).first()
    if reader.raw("project") and project is None:
        reader.errors["project"] = ["No such project in this organization."]
    reader.check()
    return UsageRange(start, end, project)


def month_parse(month: str) -> tuple[datetime.date, datetime.date]:
    """The first and last day of a YYYY-MM month; ValidationError naming `month` otherwise."""
    try:
        first = parse_month(month)
    except Invalid as exc:
        raise ValidationError({"month": [str(exc)]}) from exc
    return first, month_end(first)


def month_end(day: datetime.date) -> datetime.date:
    following = (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return following - datetime.timedelta(days=1)


def month_shift(month: str, months: int) -> str:
    first, _ = month_parse(month)
    index = first.year * 12 + first.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(start: datetime.date, end: datetime.date) -> list[str]:
    """YYYY-MM of every month the range touches, latest first."""
    months, month = [], start.strftime("%Y-%m")
    while month <= end.strftime("%Y-%m"):
        months.append(month)
        month = month_shift(month, 1)
    return months[::-1]
