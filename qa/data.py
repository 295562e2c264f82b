"""A project's annotations as integer arrays, the input of the pure algorithms in qa/stats.

The rows come through one binary COPY each (annotations, then items) and are
decoded by numpy without a Python object per row: 3,000,000 annotations are ~130 MB of COPY
data read in a couple of seconds. Labels are coded in SQL: the index of the label in the
project's set for classification, a bitmask over the set for multilabel (at most 63 labels).
Every read of a set happens in one snapshot (`snapshot()`): annotators submitting meanwhile
cannot add an item to the second read that the first did not see.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import psycopg
from django.db import connection, transaction
from psycopg import sql

from labeling.models import Annotation, AnnotationSource, Annotator, Item
from tenancy.models import Project, TaskType

# Multilabel projects code a label set as a bitmask in one bigint.
MULTILABEL_MAX = 63
EPOCH = datetime.date(1970, 1, 1)


@dataclass(frozen=True)
class Filters:
    """Which annotations a report covers. `annotator`: the items that person labeled (with
    everyone's labels on them, since agreement needs the others)."""

    date_from: datetime.date | None = None
    date_to: datetime.date | None = None  # inclusive
    dataset: int | None = None
    annotator: int | None = None

    def as_dict(self) -> dict:
        return {
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "dataset": self.dataset,
            "annotator": self.annotator,
        }


@dataclass
class AnnotationSet:
    labels: list[str]
    multilabel: bool
    # per annotation (length n)
    items: np.ndarray  # int32 index into item_ids
    annotators: np.ndarray  # int32 index into annotator_ids
    codes: np.ndarray  # int64: label index (classification) or bitmask (multilabel); -1 unknown
    durations_ms: np.ndarray  # float64, NaN when not recorded
    days: np.ndarray  # int32 days since 1970-01-01 (UTC) of the annotation
    # per item
    item_ids: np.ndarray  # int64
    gold: np.ndarray  # int64 code of the gold label, -1 for none
    final: np.ndarray  # int64 code of the item's final label, -1 for none
    # per annotator
    annotator_ids: np.ndarray  # int64
    annotator_names: list[str] = field(default_factory=list)
    annotator_kinds: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.items)

    def label_matrix(self) -> np.ndarray:
        """Multilabel codes as a bool matrix [n, labels]."""
        bits = np.arange(len(self.labels), dtype=np.int64)
        return ((self.codes[:, None] >> bits) & 1).astype(bool)

    def decode(self, code: int):
        """A code back to the stored label (None for -1)."""
        if code < 0:
            return None
        if self.multilabel:
            return [label for j, label in enumerate(self.labels) if (code >> j) & 1]
        return self.labels[code]


def _label_code_sql(project: Project, column: str) -> tuple[str, list]:
    if project.task_type == TaskType.MULTILABEL:
        if len(project.labels) > MULTILABEL_MAX:
            raise ValueError(f"multilabel agreement supports at most {MULTILABEL_MAX} labels")
        terms = [
            f"(CASE WHEN {column} ? %s THEN {1 << j} ELSE 0 END)"
            for j in range(len(project.labels))
        ]
        expr = f"(CASE WHEN {column} IS NULL THEN -1 ELSE {' + '.join(terms)} END)::int8"
        return expr, list(project.labels)
    expr = f"(coalesce(array_position(%s::text[], {column} #>> '{{}}'), 0) - 1)::int8"
    return expr, [list(project.labels)]


def _copy_binary(query: str, params: list, dtype: np.dtype) -> np.ndarray:
    """Run COPY (query) TO STDOUT in binary and view the rows as a structured array. Every
    column must be NOT NULL and fixed-width (the dtype spells the per-field length words)."""
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        # COPY takes no bound parameters: they are rendered into the text client-side (also
        # when the connection binds on the server, whose cursor cannot render them).
        rendered = psycopg.ClientCursor(connection.connection).mogrify(query, params)
        statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT BINARY)").format(sql.SQL(rendered))
        with connection.wrap_database_errors, cursor.copy(statement) as copy:
            for chunk in copy:
                buffer.write(chunk)
    raw = buffer.getbuffer()
    # header: 11-byte signature, 4-byte flags, 4-byte extension length (+ extension)
    start = 19 + int.from_bytes(raw[15:19], "big")
    body = raw[start : len(raw) - 2]  # trailer: a field count of -1
    return np.frombuffer(body, dtype=dtype)


def _fields(*specs: tuple[str, str]) -> np.dtype:
    parts: list[tuple[str, str]] = [("nfields", ">i2")]
    for name, kind in specs:
        parts += [(f"len_{name}", ">i4"), (name, kind)]
    return np.dtype(parts)


def _where(project: Project, filters: Filters, a: str = "a") -> tuple[str, list]:
    """The WHERE clause over annotations aliased `a`."""
    clauses = [f"{a}.organization_id = %s", f"{a}.project_id = %s", f"{a}.source <> %s"]
    params: list = [project.organization_id, project.pk, AnnotationSource.REVIEW.value]
    if filters.date_from:
        clauses.append(f"{a}.created_at >= %s")
        params.append(filters.date_from)
    if filters.date_to:
        clauses.append(f"{a}.created_at < %s")
        params.append(filters.date_to + datetime.timedelta(days=1))
    if filters.dataset:
        clauses.append(
            f"{a}.item_id IN (SELECT id FROM {Item._meta.db_table} "
            "WHERE organization_id = %s AND project_id = %s AND dataset_id = %s)"
        )
        params += [project.organization_id, project.pk, filters.dataset]
    if filters.annotator:
        clauses.append(
            f"{a}.item_id IN (SELECT item_id FROM {Annotation._meta.db_table} "
            "WHERE organization_id = %s AND project_id = %s AND annotator_id = %s)"
        )
        params += [project.organization_id, project.pk, filters.annotator]
    return " AND ".join(clauses), params


@contextmanager
def snapshot() -> Iterator[datetime.datetime]:
    """Run the reads inside in one REPEATABLE READ, read-only snapshot and yield its time: every
    row committed by then is seen, none committed later. Inside a transaction already (an outer
    snapshot, a test's) the reads share that transaction's."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        with connection.cursor() as cursor:
            if outermost:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            # The first statement takes the snapshot, a moment after the time it reads.
            cursor.execute("SELECT statement_timestamp()")
            taken = cursor.fetchone()[0]
        yield taken


def annotation_set(*, project: Project, filters: Filters | None = None) -> AnnotationSet:
    """Every human, external and model annotation of the project that the filters keep (review
    decisions are verdicts, not ratings: they stay out), with the items' gold and final labels,
    read in one snapshot."""
    filters = filters or Filters()
    with snapshot():
        raw_items, ann, dur, day, codes, item_rows = _read(project, filters)
        item_ids, items = np.unique(raw_items, return_inverse=True)
        annotator_ids, annotators = np.unique(ann, return_inverse=True)
        people = Annotator.objects.filter(pk__in=annotator_ids.tolist())
        names, kinds = {}, {}
        for pk, name, kind in people.values_list("pk", "name", "kind"):
            names[pk], kinds[pk] = name, kind
    gold = np.full(len(item_ids), -1, dtype=np.int64)
    final = np.full(len(item_ids), -1, dtype=np.int64)
    if len(item_rows["id"]):
        pos = np.searchsorted(item_ids, item_rows["id"])
        gold[pos] = item_rows["gold"]
        final[pos] = item_rows["final"]
    return AnnotationSet(
        labels=list(project.labels),
        multilabel=project.task_type == TaskType.MULTILABEL,
        items=items.astype(np.int32),
        annotators=annotators.astype(np.int32),
        codes=codes,
        durations_ms=np.where(dur < 0, np.nan, dur).astype(np.float64),
        days=day.astype(np.int32),
        item_ids=item_ids.astype(np.int64),
        gold=gold,
        final=final,
        annotator_ids=annotator_ids.astype(np.int64),
        annotator_names=[names.get(int(pk), str(pk)) for pk in annotator_ids],
        annotator_kinds=[kinds.get(int(pk), "") for pk in annotator_ids],
    )


def _read(project: Project, filters: Filters):
    where, params = _where(project, filters)
    code, code_params = _label_code_sql(project, "a.label")
    query = (
        f"SELECT a.item_id::int8, a.annotator_id::int8, {code}, "
        "coalesce(a.duration_ms, -1)::int4, "
        "(floor(extract(epoch FROM a.created_at) / 86400))::int4 "
        f"FROM {Annotation._meta.db_table} a WHERE {where}"
    )
    rows = _copy_binary(
        query,
        code_params + params,
        _fields(("item", ">i8"), ("ann", ">i8"), ("code", ">i8"), ("dur", ">i4"), ("day", ">i4")),
    )
    gold_code, gold_params = _label_code_sql(project, "i.gold_label")
    final_code, final_params = _label_code_sql(project, "i.label")
    item_where, item_params = _where(project, filters, a="b")
    item_query = (
        f"SELECT i.id::int8, {gold_code}, {final_code} FROM {Item._meta.db_table} i "
        "WHERE i.organization_id = %s AND i.project_id = %s AND i.id IN "
        f"(SELECT b.item_id FROM {Annotation._meta.db_table} b WHERE {item_where})"
    )
    item_rows = _copy_binary(
        item_query,
        gold_params + final_params + [project.organization_id, project.pk] + item_params,
        _fields(("id", ">i8"), ("gold", ">i8"), ("final", ">i8")),
    )
    return (
        rows["item"].astype(np.int64),
        rows["ann"].astype(np.int64),
        rows["dur"].astype(np.int64),
        rows["day"].astype(np.int64),
        rows["code"].astype(np.int64),
        {
            "id": item_rows["id"].astype(np.int64),
            "gold": item_rows["gold"].astype(np.int64),
            "final": item_rows["final"].astype(np.int64),
        },
    )
