"""The bulk writer for validated rows: PostgreSQL COPY through psycopg 3.

It runs inside the import's transaction, so nothing it writes survives a failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson
from django.db import connection

from ..models import Annotation, AnnotationSource, Annotator, AnnotatorKind, Item, ItemStatus
from .rows import CleanRow

# COPY's text format: tab-separated, \N for NULL, backslash escapes.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"
ITEM_COLUMNS = (
    "organization_id", "project_id", "dataset_id", "external_id", "data", "status", "needed",
    "done", "gold_label", "label", "confidence", "prelabel", "prelabel_confidence", "priority",
    "created_at", "completed_at", "labeled_at",
)  # fmt: skip
ANNOTATION_COLUMNS = (
    "organization_id", "project_id", "item_id", "annotator_id", "label", "source", "duration_ms",
    "created_at",
)  # fmt: skip


def _text(value: str) -> str:
    # Most ids need no escape: two C-speed checks skip the translation.
    if "\\" in value or not value.isprintable():
        return value.translate(_COPY_ESCAPES)
    return value


def _json(value: str | None) -> str:
    # orjson never writes raw control characters, only backslash escapes: double those.
    return NULL if value is None else value.replace("\\", "\\\\")


@dataclass(slots=True)
class Batch:
    """Rows ready to write: their COPY lines made already (on the parsing thread)."""

    rows: list[CleanRow]
    lines: list[str]  # COPY text per row
    skipped: int  # ids repeated inside the batch
    payload: bytes = b""  # the lines joined and encoded, ready to send


class ItemWriter:
    """Writes batches of rows of one dataset. `prepare` is pure Python and may run on another
    thread than `write`, which owns the database connection."""

    def __init__(self, *, project, dataset, now: datetime, checked: bool):
        self.project = project
        self.dataset = dataset
        self.now = now
        # Checked: ask the database which ids of a batch it holds already (earlier batches of
        # this file included). Unchecked: a repeated id breaks the unique index instead.
        self.checked = checked
        self.annotators: dict[str, int] = {}
        self.annotations_written = 0
        self._head = f"{project.organization_id}\t{project.pk}\t{dataset.pk}\t"
        self._now = now.isoformat()
        # status, needed, done of a row that brings no annotations: the same for all of them
        self._open = f"{ItemStatus.OPEN}\t{project.overlap}\t0"

    def prepare(self, rows: Sequence[CleanRow]) -> Batch:
        fresh: list[CleanRow] = []
        seen: set[str] = set()  # within the batch only: memory does not grow with the file
        for row in rows:
            if row.external_id not in seen:
                seen.add(row.external_id)
                fresh.append(row)
        lines = [self._copy_line(row) for row in fresh]
        # Joined and encoded here, on the parsing thread: the database thread only sends.
        return Batch(fresh, lines, len(rows) - len(fresh), "".join(lines).encode())

    def write(self, batch: Batch) -> tuple[int, int]:
        """(items added, duplicates skipped) for this batch."""
        rows, lines, duplicates, payload = batch.rows, batch.lines, batch.skipped, batch.payload
        if self.checked and rows:
            existing = set(
                Item.objects.filter(
                    dataset_id=self.dataset.pk, external_id__in=[r.external_id for r in rows]
                ).values_list("external_id", flat=True)
            )
            if existing:
                keep = [n for n, row in enumerate(rows) if row.external_id not in existing]
                duplicates += len(rows) - len(keep)
                rows = [rows[n] for n in keep]
                payload = "".join(lines[n] for n in keep).encode()
        if rows:
            self._copy(payload)
            annotated = [r for r in rows if r.annotations]
            if annotated:
                self._write_annotations(annotated)
        return len(rows), duplicates

    def _status(self, row: CleanRow) -> tuple[str, int, bool]:
        """A row complete with its overlap of labels, or with a final label decided elsewhere
        (an export's), is complete; the rest open."""
        done = len(row.annotations)
        complete = done >= self.project.overlap or row.label_json is not None
        return (ItemStatus.COMPLETE if complete else ItemStatus.OPEN), done, complete

    def _copy_line(self, row: CleanRow) -> str:
        if row.annotations or row.label_json is not None:
            status, done, complete = self._status(row)
            counts = f"{status}\t{self.project.overlap}\t{done}"
        else:
            counts, complete = self._open, False
        confidence = NULL if row.prelabel_confidence is None else repr(row.prelabel_confidence)
        final_confidence = NULL if row.label_confidence is None else repr(row.label_confidence)
        return (
            f"{self._head}{_text(row.external_id)}\t{_json(row.data_json)}\t{counts}\t"
            f"{_json(row.gold_json)}\t{_json(row.label_json)}\t{final_confidence}\t"
            f"{_json(row.prelabel_json)}\t"
            f"{confidence}\t0\t{self._now}\t{self._now if complete else NULL}\t"
            f"{NULL if row.label_json is None else self._now}\n"
        )

    def _copy(self, payload: bytes) -> None:
        sql = f"COPY {Item._meta.db_table} ({', '.join(ITEM_COLUMNS)}) FROM STDIN"
        # psycopg's copy() is not wrapped by Django: without this its errors would not be
        # django.db errors (a repeated id must arrive as IntegrityError).
        with connection.wrap_database_errors, connection.cursor() as cursor:
            with cursor.copy(sql) as copy:
                copy.write(payload)

    def _annotator_id(self, name: str) -> int:
        if name not in self.annotators:
            annotator, _ = Annotator.objects.get_or_create(
                organization_id=self.project.organization_id,
                kind=AnnotatorKind.EXTERNAL,
                name=name,
                user=None,
            )
            self.annotators[name] = annotator.pk
        return self.annotators[name]

    def _write_annotations(self, rows: list[CleanRow]) -> None:
        ids = dict(
            Item.objects.filter(
                dataset_id=self.dataset.pk, external_id__in=[r.external_id for r in rows]
            ).values_list("external_id", "id")
        )
        annotations = [
            Annotation(
                organization_id=self.project.organization_id,
                project_id=self.project.pk,
                item_id=ids[row.external_id],
                annotator_id=self._annotator_id(name),
                label=orjson.loads(label_json),
                source=AnnotationSource.HUMAN,
                created_at=self.now,
            )
            for row in rows
            for name, label_json in row.annotations
        ]
        Annotation.objects.bulk_create(annotations, batch_size=2_000)
        self.annotations_written += len(annotations)
