"""The metering service (the one way labeling and qa record billable work), rate cards and
turnaround targets."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from tenancy.models import Organization, OrganizationKind, Project

from . import turnaround
from .models import (
    COUNTERS,
    PERSON_COUNTERS,
    DailyUsage,
    PersonDailyUsage,
    ProjectSla,
    RateCard,
    TurnaroundBucket,
    UsageEvent,
)
from .periods import month_end
from .selectors import rate_cards_overlapping


def usage_add(
    *,
    organization_id: int,
    project_id: int,
    day: datetime.date | None = None,
    user_id: int | None = None,
    turnaround_seconds: float | Sequence[float] | None = None,
    idempotency_key: str | None = None,
    **counters: int,
) -> bool:
    """Add to the day's counters of a project. Call it inside the transaction of the work it
    counts: the count then commits or rolls back with that work, and a retried task whose work
    committed already finds nothing left to do (and counts nothing).

    - `user_id`: the person who did the work; their annotations, reviews and seconds are also
      counted per person (throughput per annotator).
    - `turnaround_seconds`: how long the items counted in `items_completed` took from import to
      completion: one number for all of them (a negative `items_completed`, an undo, takes the
      same number back out), or one number per completed item.
    - `idempotency_key`: for work that may be delivered twice outside one transaction (an
      export task): the key is recorded with the counts, and a second call with the same key
      counts nothing. Keys are global; name them `<kind>:<id>`.

    Returns False when the key was counted before, True otherwise. The whole call is one
    statement: safe under concurrency, one round trip."""
    unknown = set(counters) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown usage counters: {sorted(unknown)}")
    counters = {name: int(value) for name, value in counters.items() if value}
    buckets = _turnaround_buckets(counters.get("items_completed", 0), turnaround_seconds)
    person = {}
    if user_id is not None and any(n in counters for n in PERSON_COUNTERS):
        person = {n: counters.get(n, 0) for n in PERSON_COUNTERS}
    if not counters and idempotency_key is None:
        return True
    day = day or timezone.localdate()
    return _usage_upsert(
        organization_id, project_id, day, user_id, idempotency_key, counters, person, buckets
    )


def _turnaround_buckets(completed: int, seconds) -> dict[int, int]:
    if seconds is None or not completed:
        return {}
    if isinstance(seconds, int | float):
        return {turnaround.bucket_of(seconds): completed}
    if len(seconds) != completed:
        raise ValueError(
            f"turnaround_seconds gives {len(seconds)} times for {completed} completed items"
        )
    return turnaround.histogram(seconds)


def _usage_upsert(
    organization_id, project_id, day, user_id, key, counters, person, buckets
) -> bool:
    """One INSERT ... ON CONFLICT DO UPDATE per table, as data-modifying CTEs of one statement.
    With a key, each insert happens only when the key's own insert did (`WHERE EXISTS`): a
    concurrent call with the same key waits for ours to commit, then inserts nothing."""
    parts: list[str] = []
    params: list = []
    guard = ""
    if key is not None:
        parts.append(
            f"event AS (INSERT INTO {UsageEvent._meta.db_table} (key, organization_id, "
            "created_at) VALUES (%s, %s, now()) ON CONFLICT (key) DO NOTHING RETURNING 1)"
        )
        params += [key, organization_id]
        guard = " WHERE EXISTS (SELECT 1 FROM event)"

    def upsert(name, model, keys: dict, values: dict) -> None:
        table = model._meta.db_table
        columns = [*keys, *values]
        updates = ", ".join(f"{n} = {table}.{n} + EXCLUDED.{n}" for n in values)
        parts.append(
            f"{name} AS (INSERT INTO {table} ({', '.join(columns)}) "
            f"SELECT {', '.join(['%s'] * len(columns))}{guard} "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates})"
        )
        params.extend([*keys.values(), *values.values()])

    keys = {"organization_id": organization_id, "project_id": project_id, "day": day}
    if counters:
        upsert("daily", DailyUsage, keys, {n: counters.get(n, 0) for n in COUNTERS})
    if person:
        upsert("person", PersonDailyUsage, {**keys, "user_id": user_id}, person)
    # Sorted: rows locked in the same order by every caller (no deadlocks between two calls).
    for n, (bucket, items) in enumerate(sorted(buckets.items())):
        upsert(f"turnaround{n}", TurnaroundBucket, {**keys, "bucket": bucket}, {"items": items})
    result = "SELECT EXISTS (SELECT 1 FROM event)" if key is not None else "SELECT true"
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(parts)} {result}", params)
        return cursor.fetchone()[0]


# --- rate cards -----------------------------------------------------------------------------


@transaction.atomic
def rate_card_create(
    *,
    organization: Organization,
    currency: str,
    effective_from: datetime.date,
    effective_to: datetime.date | None = None,
    per_completed_item: Decimal = Decimal(0),
    per_annotation: Decimal = Decimal(0),
    per_review: Decimal = Decimal(0),
    per_exported_item: Decimal = Decimal(0),
    created_by=None,
) -> RateCard:
    """A client's new prices from `effective_from` (to `effective_to`, both included; none:
    until further notice). Periods never overlap, with one convenience: a card that starts
    while the client's open-ended card runs is a price change, and ends that card the day
    before. Every card touching a calendar month bills in the same currency (a statement has
    one). Cards may start in the past: statements are computed from the cards, so a
    correction reprices the months it covers."""
    if organization.kind != OrganizationKind.CLIENT:
        raise ValidationError({"organization": ["Only client organizations are billed."]})
    if effective_to is not None and effective_to < effective_from:
        raise ValidationError({"effective_to": ["The last day comes before the first."]})
    # One writer at a time per client: the overlap check below must see every card.
    Organization.objects.select_for_update().get(pk=organization.pk)
    cards = RateCard.objects.filter(organization=organization)
    overlapping = list(cards.filter(rate_cards_overlapping(effective_from, effective_to)))
    if (
        len(overlapping) == 1
        and overlapping[0].effective_to is None
        and overlapping[0].effective_from < effective_from
    ):
        previous = overlapping[0]
        previous.effective_to = effective_from - datetime.timedelta(days=1)
        previous.save(update_fields=["effective_to"])
    elif overlapping:
        other = overlapping[0]
        raise ValidationError(
            {
                "effective_from": [
                    f"Overlaps the rate card from {other.effective_from} to "
                    f"{other.effective_to or 'further notice'}."
                ]
            }
        )
    month_start = effective_from.replace(day=1)
    last_month_end = month_end(effective_to) if effective_to else None
    clash = (
        cards.filter(rate_cards_overlapping(month_start, last_month_end))
        .exclude(currency=currency)
        .first()
    )
    if clash is not None:
        raise ValidationError(
            {
                "currency": [
                    f"The rate card from {clash.effective_from} bills the same month in "
                    f"{clash.currency}; a statement has one currency."
                ]
            }
        )
    card = RateCard(
        organization=organization,
        currency=currency,
        effective_from=effective_from,
        effective_to=effective_to,
        per_completed_item=per_completed_item,
        per_annotation=per_annotation,
        per_review=per_review,
        per_exported_item=per_exported_item,
        created_by=created_by,
    )
    card.full_clean()
    card.save()
    return card


# --- turnaround targets ---------------------------------------------------------------------


def project_sla_set(*, project: Project, target_hours: int | None, updated_by=None):
    """Set the project's turnaround target, or remove it (None). Returns the target or None."""
    if target_hours is None:
        ProjectSla.objects.filter(project=project).delete()
        return None
    sla, _ = ProjectSla.objects.update_or_create(
        project=project,
        defaults={
            "organization_id": project.organization_id,
            "target_hours": target_hours,
            "updated_by": updated_by,
        },
    )
    return sla
