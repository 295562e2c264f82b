"""Import jobs: an upload is stored, then a Celery task streams it into one dataset.

All or nothing: every row of a job is written inside one transaction, together with the job's
final state and the usage it bills. A failure, a bad row (by default), or a worker that dies
part-way leaves no row behind; a retried or redelivered task starts again from the file.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import (
    DatabaseError,
    IntegrityError,
    OperationalError,
    connections,
    transaction,
)
from django.utils import timezone
from django.utils.text import get_valid_filename

from billing.services import usage_add
from core.enqueue import enqueue
from core.jobs import JobStatus
from core.outbox import outbox_add, outbox_deliver_on_commit
from tenancy.models import Project, TaskType
from tenancy.quotas import quota_check, quota_claimed

from ..models import Dataset, ImportFormat, ImportJob, Item, ItemStatus, OnError
from ..signals import items_completed
from ..statuses import import_job_transition
from .interchange import from_label_studio, looks_like_label_studio
from .pipeline import Prefetched
from .readers import READERS, FatalImportError, RowError, open_content
from .rows import RowInvalid, RowValidator
from .writers import ItemWriter

logger = logging.getLogger(__name__)

MAX_LISTED_ERRORS = 100
# Rows per COPY/INSERT batch: 5,000 rows of ~1 KB of JSON hold ~5 MB of text in memory.
BATCH_ROWS = 5_000
# Seconds a thread may hold the GIL while another waits for it, during an import.
GIL_SWITCH_INTERVAL = 0.0002
# Batches parsed ahead of the database: 3 x 5,000 rows, about 15 MB.
PREFETCH_BATCHES = 3
# Progress is written at most this often (seconds), on its own connection.
PROGRESS_EVERY = 0.5
PROGRESS_DB = "progress"

EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}


class _Rollback(Exception):
    """Raised inside the import transaction to undo it; the job's outcome rides along."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def import_format_for(filename: str) -> tuple[str, bool]:
    """(format, gzip) from a file name such as data.jsonl.gz; ValidationError otherwise."""
    path = PurePath(filename.lower())
    compressed = path.suffix == ".gz"
    if compressed:
        path = path.with_suffix("")
    fmt = EXTENSIONS.get(path.suffix)
    if fmt is None:
        raise ValidationError(
            {"file": [f"{filename!r}: upload a .jsonl, .json or .csv file (optionally .gz)."]}
        )
    return fmt, compressed


def import_job_create(
    *,
    project: Project,
    upload,
    created_by=None,
    dataset_name: str | None = None,
    on_error: str = OnError.FAIL,
    file_format: str | None = None,
) -> ImportJob:
    """Store the upload and queue its import. The dataset is named after the file unless given;
    uploading into the same dataset again adds only rows whose id it does not hold yet. Over
    the organization's import quota: LimitExceeded (tenancy.quotas), nothing stored or queued."""
    name = PurePath(upload.name or "upload").name
    detected, compressed = import_format_for(name)
    fmt = file_format or detected
    if fmt not in ImportFormat.values:
        raise ValidationError({"format": [f"Choose one of: {', '.join(ImportFormat.values)}."]})
    if on_error not in OnError.values:
        raise ValidationError({"on_error": [f"Choose one of: {', '.join(OnError.values)}."]})
    limit = settings.LQA_IMPORT_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            {"file": [f"The file has {upload.size:,} bytes; the limit is {limit:,} bytes."]}
        )
    if upload.size == 0:
        raise ValidationError({"file": ["The file is empty."]})
    stem = name[: -len(".gz")] if compressed else name
    dataset_name = (dataset_name or PurePath(stem).stem or "dataset").strip()[:200]
    job = ImportJob(
        organization_id=project.organization_id,
        project=project,
        original_name=name[:255],
        format=fmt,
        compressed=compressed,
        on_error=on_error,
        size_bytes=upload.size,
        created_by=created_by,
        dataset_name=dataset_name,
    )
    quota = {"kind": "imports", "project": project, "jobs": ImportJob.objects, "user": created_by}
    quota_check(**quota)  # before the upload is copied into storage
    stored = f"{project.organization_id}/{uuid.uuid4().hex}-{get_valid_filename(name)[:120]}"
    job.file.save(stored, upload, save=False)
    try:
        with quota_claimed(**quota) as claim:
            job.save()
            enqueue("labeling.import_run", job.pk, project.organization_id, priority=claim.priority)
    except Exception:
        job.file.storage.delete(job.file.name)
        raise
    logger.info(
        "import_queued",
        extra={"job_id": job.pk, "project_id": project.pk, "size": upload.size, "format": fmt},
    )
    return job


def _dataset_for(*, project: Project, name: str, created_by=None) -> Dataset:
    """The named dataset, created if new, locked: one import at a time per dataset."""
    try:
        with transaction.atomic():
            Dataset.objects.get_or_create(
                project=project,
                name=name,
                defaults={"organization_id": project.organization_id, "created_by": created_by},
            )
    except IntegrityError:  # a concurrent import created it a moment ago
        pass
    return Dataset.objects.select_for_update().get(project=project, name=name)


class _Progress:
    """Makes bytes_read visible while the import's own transaction is still open, by writing it
    on a second connection. The reader (on the parsing thread) only notes the count; the
    database thread writes it between batches."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.bytes_read = 0
        self.last = 0.0

    def note(self, bytes_read: int) -> None:
        self.bytes_read = bytes_read

    def report(self) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        ImportJob.objects.using(PROGRESS_DB).filter(pk=self.job_id).update(
            bytes_read=self.bytes_read
        )

    def close(self) -> None:
        # Imports are rare and long: no idle connection kept between them. (Inside a test's
        # transaction the connection must stay open: closing it there would break it.)
        connection = connections[PROGRESS_DB]
        if not connection.in_atomic_block:
            connection.close()


def import_job_run(*, job_id: int) -> ImportJob:
    """Run a queued job to its end. Idempotent: a finished job is left as it is."""
    job = ImportJob.objects.select_related("project").get(pk=job_id)
    if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
        return job
    import_job_transition(
        job=job,
        to=JobStatus.RUNNING,
        started_at=timezone.now(),
        attempts=job.attempts + 1,
        rows=0,
        imported=0,
        duplicates=0,
        failed_rows=0,
        errors=[],
    )
    started = time.monotonic()
    stats = _Stats()
    progress = _Progress(job.pk)
    try:
        try:
            _attempt(job, stats, progress, checked=False)
        except _RepeatedIds:
            # The fast pass met an id twice (in the file, or from a concurrent writer) and was
            # rolled back whole; the checked pass asks the database about every batch.
            logger.info("import_rerun_checked", extra={"job_id": job.pk})
            stats = _Stats()
            _attempt(job, stats, progress, checked=True)
    except FatalImportError as exc:
        stats.error(exc.line, exc.message, fatal=True)
        _fail(job, stats, exc.message)
    except _Rollback as exc:
        _fail(job, stats, exc.message)
    except OperationalError:
        # A lost connection and the like: the transaction is gone and nothing was kept. The job
        # stays running; the task retries it from the file (and fails it when retries run out).
        logger.warning("import_interrupted", extra={"job_id": job.pk}, exc_info=True)
        raise
    except DatabaseError as exc:
        logger.exception("import_database_error", extra={"job_id": job.pk})
        _fail(job, stats, f"The database refused the import: {exc}".strip())
    finally:
        progress.close()
    _discard_upload(job)
    logger.info(
        "import_finished",
        extra={
            "job_id": job.pk,
            "status": job.status,
            "rows": stats.rows,
            "imported": stats.imported,
            "seconds": round(time.monotonic() - started, 2),
        },
    )
    return job


class _RepeatedIds(Exception):
    pass


def _attempt(job: ImportJob, stats: _Stats, progress: _Progress, *, checked: bool) -> None:
    """One pass over the file in one transaction, ending in the job's success."""
    with transaction.atomic():
        try:
            dataset = _load(job, stats, progress, checked=checked)
        except IntegrityError as exc:
            if checked:
                raise
            raise _RepeatedIds from exc
        import_job_transition(
            job=job,
            to=JobStatus.SUCCEEDED,
            dataset=dataset,
            finished_at=timezone.now(),
            bytes_read=job.size_bytes,
            message=stats.summary(),
            **stats.fields(),
        )
        if stats.annotations:
            # Rows that brought their overlap's worth of labels are complete: consensus decides
            # them like any other, announced after the commit in batches (by an outbox message
            # of this transaction: delivered by the outbox's sweep if it cannot be at once).
            message = outbox_add(
                topic=IMPORT_COMPLETED,
                payload={"organization_id": job.organization_id, "project_id": job.project_id,
                         "dataset_id": dataset.pk},
            )  # fmt: skip
            outbox_deliver_on_commit(message)


# The outbox topic of an import that completed items (labeling.apps registers the handler).
IMPORT_COMPLETED = "labeling.import_completed"
# Items per items_completed signal of an import (without a broker, each one consensus call).
ANNOUNCE_BATCH = 1_000


def import_completed_deliver(payload: dict) -> None:
    """Send items_completed for the dataset's completed items that wait for consensus."""
    _announce_completed(payload["organization_id"], payload["project_id"], payload["dataset_id"])


def _announce_completed(organization_id: int, project_id: int, dataset_id: int) -> None:
    ids = Item.objects.filter(
        dataset_id=dataset_id, status=ItemStatus.COMPLETE, label__isnull=True
    ).values_list("id", flat=True)
    batch: list[int] = []
    for item_id in ids.order_by("id").iterator(chunk_size=ANNOUNCE_BATCH):
        batch.append(item_id)
        if len(batch) == ANNOUNCE_BATCH:
            items_completed.send(
                None, organization_id=organization_id, project_id=project_id, item_ids=batch
            )
            batch = []
    if batch:
        items_completed.send(
            None, organization_id=organization_id, project_id=project_id, item_ids=batch
        )


class _Stats:
    def __init__(self):
        self.rows = self.imported = self.duplicates = self.failed_rows = 0
        self.annotations = 0
        self.errors: list[dict] = []

    def error(self, line, message: str, *, fatal: bool = False) -> None:
        if not fatal:
            self.failed_rows += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append({"line": line, "message": message})

    def fields(self) -> dict:
        return {
            "rows": self.rows,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "failed_rows": self.failed_rows,
            "annotations_imported": self.annotations,
            "errors": self.errors,
        }

    def summary(self) -> str:
        parts = [f"{self.imported:,} of {self.rows:,} rows imported"]
        if self.duplicates:
            parts.append(f"{self.duplicates:,} already in the dataset")
        if self.failed_rows:
            parts.append(f"{self.failed_rows:,} bad rows skipped")
        if self.annotations:
            parts.append(f"{self.annotations:,} external annotations")
        return ", ".join(parts) + "."


def _discard_upload(job: ImportJob) -> None:
    """A finished job never reads its file again: the rows are in the database or rejected."""
    name = job.file.name
    if name:
        ImportJob.objects.filter(pk=job.pk).update(file="")
        job.file.storage.delete(name)
        job.file.name = ""


def _fail(job: ImportJob, stats: _Stats, message: str) -> None:
    import_job_transition(
        job=job,
        to=JobStatus.FAILED,
        finished_at=timezone.now(),
        message=message,
        **{**stats.fields(), "imported": 0, "duplicates": 0, "annotations_imported": 0},
    )


def _load(job: ImportJob, stats: _Stats, progress: _Progress, *, checked: bool) -> Dataset:
    """Stream the file into the dataset. Unchecked (the fast pass, for a new dataset) it relies
    on the unique (dataset, external id) index to stop at a repeated id; checked, it asks the
    database which ids of each batch exist already. Memory stays the same either way."""
    project = job.project
    dataset = _dataset_for(project=project, name=job.dataset_name, created_by=job.created_by)
    writer = ItemWriter(
        project=project,
        dataset=dataset,
        now=timezone.now(),
        checked=checked or dataset.items.exists(),
    )
    multilabel = project.task_type == TaskType.MULTILABEL
    validator = RowValidator(labels=project.labels, multilabel=multilabel)
    keep_going = job.on_error == OnError.SKIP
    stream, _ = open_content(
        job.file.path, max_bytes=settings.LQA_IMPORT_MAX_BYTES, on_progress=progress.note
    )

    def batches():
        """Parse, validate and format on a second thread; runs ahead of the database."""
        batch = []
        rows = READERS[job.format](stream, max_row_bytes=settings.LQA_IMPORT_MAX_ROW_BYTES)
        for line, row in rows:
            stats.rows += 1
            if isinstance(row, RowError):
                stats.error(line, row.message)
                continue
            if job.format == "csv" and multilabel:
                for field in ("gold", "label"):
                    if isinstance(row.get(field), str):
                        row[field] = [label for label in row[field].split("|") if label]
                if isinstance(row.get("prelabel", {}).get("label"), str):
                    row["prelabel"]["label"] = row["prelabel"]["label"].split("|")
            elif job.format != "csv" and looks_like_label_studio(row):
                row = from_label_studio(row, multilabel=multilabel)
            try:
                clean = validator.clean(row)
            except RowInvalid as exc:
                stats.error(line, str(exc))
                continue
            if stats.failed_rows and not keep_going:
                continue  # nothing will be kept: only go on finding and counting bad rows
            batch.append(clean)
            if len(batch) >= BATCH_ROWS:
                yield writer.prepare(batch)
                batch = []
        if batch and (keep_going or not stats.failed_rows):
            yield writer.prepare(batch)

    # The parsing thread and the database work in parallel (two cores: Python and PostgreSQL);
    # the queue between them holds at most PREFETCH_BATCHES batches. psycopg sends COPY data
    # in 128 KB pieces and takes the GIL back after each: with the default 5 ms switch interval
    # the busy parsing thread would make it wait that long every time (11 s per million rows).
    interval = sys.getswitchinterval()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    try:
        with stream, Prefetched(batches(), depth=PREFETCH_BATCHES) as prepared:
            for batch in prepared:
                added, duplicates = writer.write(batch)
                stats.imported += added
                stats.duplicates += duplicates
                progress.report()
    finally:
        sys.setswitchinterval(interval)
    stats.annotations = writer.annotations_written
    if stats.rows == 0:
        raise FatalImportError(None, "The file holds no rows.")
    if stats.failed_rows and not keep_going:
        raise _Rollback(
            f"{stats.failed_rows:,} of {stats.rows:,} rows are bad, so nothing was imported; "
            "fix them, or import again skipping bad rows (on_error=skip) to keep the good ones."
        )
    if stats.failed_rows and stats.imported == 0 and stats.duplicates == 0:
        raise _Rollback(f"All {stats.rows:,} rows are bad; nothing was imported.")
    usage_add(
        organization_id=project.organization_id,
        project_id=project.pk,
        items_imported=stats.imported,
    )
    return dataset


def import_job_abandon(*, job_id: int, reason: str) -> None:
    """Mark a job failed that could not finish (its retries ran out); no row of it was kept."""
    job = ImportJob.objects.get(pk=job_id)
    if job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        import_job_transition(
            job=job, to=JobStatus.FAILED, finished_at=timezone.now(), message=reason
        )
        _discard_upload(job)
