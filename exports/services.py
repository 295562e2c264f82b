"""Labeled exports: JSONL, CSV and Label Studio JSON (formats/), written by a Celery job
(run.py) into storage from one snapshot of the selection (query.py), with a QA certificate
beside the data (certificate.py), fetched through a link that expires.

Services and tasks go one way: this module enqueues the task `exports.export_run` by name on
commit (core.enqueue); tasks.py imports this module."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.core.files import File
from django.utils import timezone

from core.enqueue import enqueue
from core.jobs import JobStatus
from labeling.models import ItemStatus
from tenancy.models import Project
from tenancy.quotas import quota_claimed

from .models import Export, ExportFormat
from .run import export_run

__all__ = ["Expired", "export_create", "export_file_for_download", "export_run"]

# Incremental exports start this long before the previous export's snapshot: a label stamped
# just before that snapshot but committed just after it was not in that file and must be in
# this one. Rows sent twice are the same item again (clients upsert by id).
INCREMENTAL_OVERLAP = datetime.timedelta(minutes=5)


class Expired(Exception):
    """The export's download link has expired (410)."""


def export_create(
    *,
    project: Project,
    user,
    format: str,  # noqa: A002 (the API's field name)
    statuses: list[str] | None = None,
    dataset: int | None = None,
    min_confidence: float | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    include_annotations: bool = True,
    incremental: bool = False,
) -> Export:
    """Queue an export (after commit). Defaults: complete items only, with their annotations.
    Incremental: only items whose final label changed since this project's last export.
    Over the organization's export quota: LimitExceeded (tenancy.quotas), nothing queued."""
    errors: dict[str, list[str]] = {}
    if format not in ExportFormat.values:
        errors["format"] = [f"Choose one of: {', '.join(ExportFormat.values)}."]
    statuses = statuses or [ItemStatus.COMPLETE]
    unknown = [s for s in statuses if s not in ItemStatus.values]
    if unknown:
        errors["status"] = [f"Unknown status {unknown[0]!r}; use {', '.join(ItemStatus.values)}."]
    if min_confidence is not None and not 0 <= min_confidence <= 1:
        errors["min_confidence"] = ["A number from 0 to 1."]
    if date_from and date_to and date_from > date_to:
        errors["to"] = ["Must not be before `from`."]
    if dataset is not None and not project.datasets.filter(pk=dataset).exists():
        errors["dataset"] = ["This project has no such dataset."]
    if errors:
        raise ValidationError(errors)
    since = None
    if incremental:
        previous = (
            Export.objects.filter(project=project, status=JobStatus.SUCCEEDED)
            .order_by("-started_at")
            .first()
        )
        since = previous.started_at - INCREMENTAL_OVERLAP if previous else None
    with quota_claimed(kind="exports", project=project, jobs=Export.objects, user=user) as claim:
        export = Export.objects.create(
            organization_id=project.organization_id,
            project=project,
            format=format,
            filters={
                "status": sorted(set(statuses)),
                "dataset": dataset,
                "min_confidence": min_confidence,
                "from": date_from.isoformat() if date_from else None,
                "to": date_to.isoformat() if date_to else None,
            },
            include_annotations=include_annotations,
            incremental=incremental,
            since=since,
            created_by=user,
        )
        enqueue(
            "exports.export_run",
            export_id=export.pk,
            organization_id=export.organization_id,
            priority=claim.priority,
        )
    return export


def export_file_for_download(*, export: Export) -> File:
    """The stored file, or Expired once its link's time is up."""
    if export.status != JobStatus.SUCCEEDED or not export.file:
        raise ValidationError({"status": [f"The export is {export.status}: no file yet."]})
    if export.expires_at and export.expires_at <= timezone.now():
        raise Expired("This download link has expired; start a new export.")
    return export.file.open("rb")
