"""Bulk writers for validated rows: PostgreSQL COPY through psycopg 3, batched INSERTs elsewhere.

Both run inside the import's transaction, so nothing they write survives a failure.
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
    "created_at", "completed_at",
)  # fmt: skip
ANNOTATION_COLUMNS = (
    "organization_id", "project_id", "item_id", "annotator_id", "label", "source", "duration_ms",
    "created_at",
)  # fmt: skip


def _text(value: str) -> str:
    return value.translate(_COPY_ESCAPES)


def _json(value: str | None) -> str:
    # orjson never writes raw control characters, only backslash escapes: double those.
    return NULL if value is None else value.replace("\\", "\\\\")


@dataclass(slots=True)
class Batch:
    """Rows ready to write: their COPY lines made already (on the parsing thread)."""

    rows: list[CleanRow]
    lines: list[str] | None  # COPY text per row; None where COPY is not used
    skipped: int  # ids seen earlier in the same file


class ItemWriter:
    """Writes batches of rows of one dataset. `prepare` is pure Python and may run on another
    thread than `write`, which owns the database connection."""

    def __init__(self, *, project, dataset, now: datetime, dataset_had_items: bool):
        self.project = project
        self.dataset = dataset
        self.now = now
        self.dataset_had_items = dataset_had_items
        self.seen: set[str] = set()  # external ids of this file: ~80 MB per million
        self.annotators: dict[str, int] = {}
        self.annotations_written = 0
        self.use_copy = connection.vendor == "postgresql"
        self._head = f"{project.organization_id}\t{project.pk}\t{dataset.pk}\t"
        self._now = now.isoformat()

    def prepare(self, rows: Sequence[CleanRow]) -> Batch:
        fresh: list[CleanRow] = []
        seen = self.seen
        for row in rows:
            if row.external_id not in seen:
                seen.add(row.external_id)
                fresh.append(row)
        lines = [self._copy_line(row) for row in fresh] if self.use_copy else None
        return Batch(fresh, lines, len(rows) - len(fresh))

    def write(self, batch: Batch) -> tuple[int, int]:
        """(items added, duplicates skipped) for this batch."""
        rows, lines, duplicates = batch.rows, batch.lines, batch.skipped
        if self.dataset_had_items and rows:
            existing = set(
                Item.objects.filter(
                    dataset_id=self.dataset.pk, external_id__in=[r.external_id for r in rows]
                ).values_list("external_id", flat=True)
            )
            if existing:
                keep = [n for n, row in enumerate(rows) if row.external_id not in existing]
                duplicates += len(rows) - len(keep)
                rows = [rows[n] for n in keep]
                lines = [lines[n] for n in keep] if lines is not None else None
        if rows:
            if lines is not None:
                self._copy(lines)
            else:
                self._insert_items(rows)
            annotated = [r for r in rows if r.annotations]
            if annotated:
                self._write_annotations(annotated)
        return len(rows), duplicates

    def _status(self, row: CleanRow) -> tuple[str, int, bool]:
        done = len(row.annotations)
        complete = done >= self.project.overlap
        return (ItemStatus.COMPLETE if complete else ItemStatus.OPEN), done, complete

    def _copy_line(self, row: CleanRow) -> str:
        status, done, complete = self._status(row)
        confidence = NULL if row.prelabel_confidence is None else repr(row.prelabel_confidence)
        return (
            f"{self._head}{_text(row.external_id)}\t{_json(row.data_json)}\t{status}\t"
            f"{self.project.overlap}\t{done}\t{_json(row.gold_json)}\t{NULL}\t{NULL}\t"
            f"{_json(row.prelabel_json)}\t{confidence}\t0\t{self._now}\t"
            f"{self._now if complete else NULL}\n"
        )

    def _copy(self, lines: list[str]) -> None:
        sql = f"COPY {Item._meta.db_table} ({', '.join(ITEM_COLUMNS)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.copy(sql) as copy:
            copy.write("".join(lines))

    def _insert_items(self, rows: list[CleanRow]) -> None:
        items = []
        for row in rows:
            status, done, complete = self._status(row)
            items.append(
                Item(
                    organization_id=self.project.organization_id,
                    project_id=self.project.pk,
                    dataset_id=self.dataset.pk,
                    external_id=row.external_id,
                    data=orjson.loads(row.data_json),
                    status=status,
                    needed=self.project.overlap,
                    done=done,
                    gold_label=None if row.gold_json is None else orjson.loads(row.gold_json),
                    prelabel=None if row.prelabel_json is None else orjson.loads(row.prelabel_json),
                    prelabel_confidence=row.prelabel_confidence,
                    created_at=self.now,
                    completed_at=self.now if complete else None,
                )
            )
        Item.objects.bulk_create(items)

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
