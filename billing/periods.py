"""Periods of billing reads: a range of days (with an optional project) parsed from query
parameters, and calendar months."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone

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
    `project` (an id of the organization's) from query parameters; ValidationError naming the
    field otherwise."""
    errors: dict[str, list[str]] = {}
    end = _date_param(params, "to", errors) or timezone.localdate()
    start = _date_param(params, "from", errors) or end - datetime.timedelta(
        days=DEFAULT_RANGE_DAYS - 1
    )
    if not errors:
        if start > end:
            errors["to"] = ["The range ends before it starts."]
        elif (end - start).days + 1 > MAX_RANGE_DAYS:
            errors["to"] = [f"At most {MAX_RANGE_DAYS} days at a time."]
    project = None
    raw = params.get("project") or ""
    if raw:
        project = (
            Project.objects.filter(organization=organization, pk=int(raw)).first()
            if raw.isdigit()
            else None
        )
        if project is None:
            errors["project"] = ["No such project in this organization."]
    if errors:
        raise ValidationError(errors)
    return UsageRange(start, end, project)


def _date_param(params, name: str, errors: dict) -> datetime.date | None:
    raw = params.get(name) or ""
    if not raw:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            raise ValueError(raw)
        return datetime.date.fromisoformat(raw)
    except ValueError:
        errors[name] = ["Give a date as YYYY-MM-DD."]
        return None


def month_parse(month: str) -> tuple[datetime.date, datetime.date]:
    """The first and last day of a YYYY-MM month; ValidationError naming `month` otherwise."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", month or "")
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
        raise ValidationError({"month": ["Give a month as YYYY-MM."]})
    first = datetime.date(int(match[1]), int(match[2]), 1)
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
