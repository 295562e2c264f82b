"""The export job: read the selection in one snapshot, write the file into storage while
hashing it and reporting progress, then issue the certificate and mark the success together
with its usage. Idempotent: a finished export is left as it is; a redelivered running one
starts again, and only one delivery's file and usage count."""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import tempfile

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from billing.services import usage_add
from core.jobs import JOB_TRANSITIONS, JobStatus
from tenancy.models import TaskType

from . import formats, query
from .certificate import certificate_build
from .models import Export

logger = logging.getLogger(__name__)

# Progress is written every this many rows (on its own connection, outside the snapshot).
PROGRESS_EVERY = 50_000
# The settings' second connection: progress is seen while the export's snapshot is open.
PROGRESS_DB = "progress"


def _progress(export: Export, **fields) -> None:
    Export.objects.using(PROGRESS_DB).filter(pk=export.pk).update(**fields)


def export_run(*, export_id: int) -> Export:
    """Write the file, its certificate, and count the exported items."""
    export = Export.objects.select_related("project").get(pk=export_id)
    if export.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
        return export
    if not JOB_TRANSITIONS.try_apply(export, JobStatus.RUNNING, started_at=timezone.now()):
        export.refresh_from_db()
        return export
    directory = os.path.join(settings.MEDIA_ROOT, "exports")
    os.makedirs(directory, exist_ok=True)
    handle, path = tempfile.mkstemp(prefix=f"export-{export.pk}-", dir=directory)
    try:
        snapshot, rows, size, sha256 = _write(export, handle)
        _finish(export, path, snapshot=snapshot, rows=rows, size=size, sha256=sha256)
    except Exception as exc:
        JOB_TRANSITIONS.try_apply(export, JobStatus.FAILED, finished_at=timezone.now(),
                                  message=f"The export could not finish: {exc}")  # fmt: skip
        raise
    finally:
        if os.path.exists(path):
            os.unlink(path)
    export.refresh_from_db()
    logger.info(
        "export_finished",
        extra={"export_id": export.pk, "rows": rows, "bytes": size, "format": export.format},
    )
    return export


def _write(export: Export, handle: int) -> tuple[datetime.datetime, int, int, str]:
    """Read and write the file in one snapshot: (its time, rows, bytes, SHA-256). Nothing is
    written to the database here (progress goes through its own connection), so the snapshot
    never conflicts."""
    multilabel = export.project.task_type == TaskType.MULTILABEL
    outermost = not connection.in_atomic_block  # a task: yes; inside a test: no
    digest = hashlib.sha256()
    size = rows = 0
    with transaction.atomic():
        snapshot = query.snapshot_begin(outermost=outermost)
        _progress(export, total=query.selection_count(export), started_at=snapshot)
        next_report = PROGRESS_EVERY
        with os.fdopen(handle, "wb") as out:
            for data, count in formats.pieces(export, multilabel=multilabel, parallel=outermost):
                out.write(data)
                digest.update(data)
                size += len(data)
                rows += count
                if rows >= next_report:
                    _progress(export, rows=rows)
                    next_report += PROGRESS_EVERY
    return snapshot, rows, size, digest.hexdigest()


def _finish(
    export: Export, path: str, *, snapshot: datetime.datetime, rows: int, size: int, sha256: str
) -> None:
    """The certificate, the file in place, and the success with its usage, together."""
    certificate = certificate_build(
        export=export, rows=rows, sha256=sha256, size=size, snapshot=snapshot
    )
    # Moved into place, not copied: the file was written in the storage's folder.
    # (Object storage would upload it here instead.)
    name = default_storage.get_available_name(
        f"exports/project-{export.project_id}-export-{export.pk}.{formats.extension(export)}"
    )
    os.replace(path, default_storage.path(name))
    finished = timezone.now()
    with transaction.atomic():
        done = JOB_TRANSITIONS.try_apply(
            export,
            JobStatus.SUCCEEDED,
            rows=rows,
            total=rows,
            size_bytes=size,
            sha256=sha256,
            certificate=certificate,
            file=name,
            finished_at=finished,
            expires_at=finished + datetime.timedelta(days=settings.LQA_EXPORT_LINK_DAYS),
            started_at=snapshot,
        )
        if done and rows:
            # In the transaction of the success: a redelivered task counts nothing twice.
            usage_add(
                organization_id=export.organization_id,
                project_id=export.project_id,
                exported_items=rows,
                idempotency_key=f"export:{export.pk}",
            )
        elif not done:  # another delivery finished first: this file is not the one
            default_storage.delete(name)
