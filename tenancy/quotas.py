"""Per-tenant quotas on background jobs (imports, exports, model trainings) and their fair
order in the queue.

A service creates its job inside `quota_claimed()`: the organization's jobs of that kind are
counted under a transaction-level advisory lock (one per organization and kind) that is held
until the job's row commits, so concurrent requests take turns and none slips past a limit.
Over a limit the block never runs: LimitExceeded (429 naming the limit, with Retry-After),
and the refusal goes to the audit log.

Fairness: the claim's `priority` is how many of the organization's jobs of this kind are
queued or running already (0-9); the task is sent with it, and the broker serves priority 0
first. Every tenant's first job thus overtakes another tenant's backlog, its second job the
backlog's third, and so on: round robin by each tenant's position in its own queue."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from core.jobs import JobStatus
from core.limits import LimitExceeded, wait_text

from .audit import audit_record
from .models import QUOTA_NAMES, AuditEventKind, AuditVerdict, OrganizationQuota, Project

KINDS = ("imports", "exports", "trainings")
NOUNS = {"imports": "imports", "exports": "exports", "trainings": "model trainings"}
WINDOW = timedelta(hours=1)
# A job runs for an unknown time: a refusal over the concurrent limit says to try again then.
CONCURRENT_RETRY_AFTER = 30
# The broker's lowest priority (settings.CELERY_BROKER_TRANSPORT_OPTIONS: 0-9).
LOWEST_PRIORITY = 9
_UNFINISHED = (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass(frozen=True)
class Claim:
    priority: int  # for the job's task: 0 is served first


def quota_limits(*, organization_id: int) -> dict[str, int]:
    """The organization's limits: its own where set, else the installation's defaults."""
    limits = dict(settings.LQA_QUOTAS)
    own = OrganizationQuota.objects.filter(organization_id=organization_id).first()
    for name in QUOTA_NAMES:
        value = getattr(own, name, None) if own is not None else None
        if value is not None:
            limits[name] = value
    return limits


def _refusal(kind: str, name: str, allowed: int, retry_after: int) -> LimitExceeded:
    if name.endswith("_concurrent"):
        detail = (
            f"This organization may run {allowed} {NOUNS[kind]} at a time ({name}); "
            "try again when one has finished."
        )
    else:
        detail = (
            f"This organization may start {allowed} {NOUNS[kind]} an hour ({name}); "
            f"the next one may start in {wait_text(retry_after)}."
        )
    return LimitExceeded(limit=name, detail=detail, retry_after=retry_after, allowed=allowed)


def _claim(*, kind: str, organization_id: int, jobs: QuerySet) -> Claim:
    """Lock the organization's quota of `kind` (until the transaction ends) and count."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s), %s)",
            [f"lqa.quota.{kind}", organization_id],
        )
    since = timezone.now() - WINDOW
    mine = jobs.filter(organization_id=organization_id)
    counts = mine.aggregate(
        unfinished=Count("pk", filter=Q(status__in=_UNFINISHED)),
        last_hour=Count("pk", filter=Q(created_at__gte=since)),
    )
    limits = quota_limits(organization_id=organization_id)
    concurrent, hourly = f"{kind}_concurrent", f"{kind}_per_hour"
    if counts["unfinished"] >= limits[concurrent]:
        raise _refusal(kind, concurrent, limits[concurrent], CONCURRENT_RETRY_AFTER)
    if counts["last_hour"] >= limits[hourly]:
        # The window frees a place when the job that keeps it full turns an hour old.
        recent = mine.filter(created_at__gte=since).order_by("created_at")
        position = counts["last_hour"] - limits[hourly]
        started = recent.values_list("created_at", flat=True)[position]
        wait = (started + WINDOW - timezone.now()).total_seconds()
        raise _refusal(kind, hourly, limits[hourly], math.ceil(max(wait, 1)))
    return Claim(priority=min(counts["unfinished"], LOWEST_PRIORITY))


def _record(exc: LimitExceeded, *, kind: str, project: Project, user) -> None:
    audit_record(
        event=AuditEventKind.QUOTA_REFUSED,
        verdict=AuditVerdict.REFUSED,
        actor=user,
        organization_id=project.organization_id,
        target_type="project",
        target_id=project.pk,
        target_organization_id=project.organization_id,
        detail={"kind": kind, **exc.body()},
    )


@contextmanager
def quota_claimed(*, kind: str, project: Project, jobs: QuerySet, user=None) -> Iterator[Claim]:
    """Run the block that creates a job of `kind` (one of KINDS) for `project` inside one
    transaction with the quota's lock and count; `jobs` is the kind's model's queryset (rows
    with organization, status and created_at). Refused: LimitExceeded, and nothing created."""
    try:
        with transaction.atomic():
            yield _claim(kind=kind, organization_id=project.organization_id, jobs=jobs)
    except LimitExceeded as exc:
        # Outside the rolled-back transaction: the refusal is kept.
        _record(exc, kind=kind, project=project, user=user)
        raise


def quota_check(*, kind: str, project: Project, jobs: QuerySet, user=None) -> None:
    """quota_claimed() with nothing in the block: refuse early, before costly preparation
    (storing an upload). The claim that creates the job counts again."""
    with quota_claimed(kind=kind, project=project, jobs=jobs, user=user):
        pass
