"""What an export reads: which items (its filters as one WHERE clause), the snapshot every read
of the file shares, and the reads themselves, in id order with constant memory.

Two ways to read: `row_chunks` walks the selection by keyset, CHUNK items at a time with their
annotations (each read an index range scan of (organization, project, status, id)), for the
formats assembled in Python; `range_pieces` runs a format's own SQL over id ranges of CHUNK
items, on this connection or on several at once that share the snapshot (pg_export_snapshot).
Values come as the stored JSON text (the database's own, never decoded and encoded again),
which is what makes a million rows a matter of seconds.
"""

from __future__ import annotations

import datetime
import os
import queue
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import orjson
import psycopg
from django.db import connection
from django.utils import timezone

from labeling.models import Annotation, Annotator, Item, ItemStatus

from .models import Export

# Items per read: 5,000 rows of a few hundred bytes plus their annotations, a few MB in memory.
CHUNK = 5_000
# Connections that read ranges at once: the machine's cores, at most 4.
EXPORT_WORKERS = max(2, min(4, os.cpu_count() or 2))
# Every range reader's: the planner prices a range of a big project high enough to JIT-compile
# it, which costs more than running it (tenths of a second), and to start parallel workers for
# it, processes of a few ms competing for the cores the export's own connections use.
RANGE_READ_SETTINGS = ("SET LOCAL jit = off", "SET LOCAL max_parallel_workers_per_gather = 0")
# The last id of the largest Item.id: an open upper bound for the last range.
NO_UPPER_BOUND = 2**63 - 1

Piece = TypeVar("Piece")


def selection(export: Export) -> tuple[str, list]:
    """The export's items as a WHERE clause over `i` (the item table) and its parameters."""
    filters = export.filters
    clauses = ["i.organization_id = %s", "i.project_id = %s"]
    params: list = [export.organization_id, export.project_id]
    statuses = filters.get("status") or [ItemStatus.COMPLETE]
    clauses.append(f"i.status IN ({', '.join(['%s'] * len(statuses))})")
    params += statuses
    if filters.get("dataset"):
        clauses.append("i.dataset_id = %s")
        params.append(filters["dataset"])
    if filters.get("min_confidence") is not None:
        clauses.append("i.confidence >= %s")
        params.append(filters["min_confidence"])
    if filters.get("from"):
        clauses.append("i.completed_at >= %s")
        params.append(_start_of(filters["from"]))
    if filters.get("to"):
        clauses.append("i.completed_at < %s")
        params.append(_start_of(filters["to"]) + datetime.timedelta(days=1))
    if export.since:
        clauses.append("i.labeled_at > %s")
        params.append(export.since)
    return " AND ".join(clauses), params


def _start_of(day: str) -> datetime.datetime:
    return timezone.make_aware(
        datetime.datetime.combine(datetime.date.fromisoformat(day), datetime.time())
    )


def snapshot_begin(*, outermost: bool) -> datetime.datetime:
    """Set up the open transaction for the export's reads and return the snapshot's time.
    Outermost (a task): REPEATABLE READ, so that every read sees one snapshot; inside another
    transaction (a test) the reads share that one's."""
    with connection.cursor() as cursor:
        if outermost:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        for statement in RANGE_READ_SETTINGS:
            cursor.execute(statement)
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def selection_count(export: Export) -> int:
    where, params = selection(export)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {Item._meta.db_table} i WHERE {where}", params)
        return cursor.fetchone()[0]


def data_keys(export: Export) -> list[str]:
    """Every key of the selected items' data, in first-seen order (CSV needs its header
    before the first row): one pass of the database over the rows."""
    where, params = selection(export)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT k FROM (SELECT DISTINCT ON (k) k, i.id FROM {Item._meta.db_table} i, "
            f"jsonb_object_keys(i.data) k WHERE {where} ORDER BY k, i.id) first "
            "ORDER BY id, k",
            params,
        )
        return [key for (key,) in cursor.fetchall()]


# --- rows assembled in Python (CSV, Label Studio) ------------------------------------------


@dataclass(slots=True)
class Row:
    pk: int
    external_id: str
    data: str  # JSON text
    label: str | None  # JSON text
    confidence: float | None
    status: str
    prelabel: str | None
    prelabel_confidence: float | None
    gold: str | None

    def agreement(self, annotations: list[tuple], multilabel: bool) -> float | None:
        """The share of the item's (non-review) annotations that equal its final label."""
        if self.label is None:
            return None
        votes = [label for _, label, source, _ in annotations if source != "review"]
        if not votes:
            return None
        if multilabel:
            final = sorted(orjson.loads(self.label))
            same = sum(1 for vote in votes if sorted(orjson.loads(vote)) == final)
        else:
            same = sum(1 for vote in votes if vote == self.label)
        return round(same / len(votes), 4)


def row_chunks(export: Export) -> Iterator[tuple[list[Row], dict[int, list[tuple]]]]:
    """Lists of rows in id order, each with {item id: [(annotator name, label JSON text,
    source, created_at as ISO 8601 UTC text)]} (empty without the export's annotations)."""
    where, params = selection(export)
    item_sql = (
        "SELECT i.id, i.external_id, i.data::text, i.label::text, i.confidence, i.status, "
        "i.prelabel::text, i.prelabel_confidence, i.gold_label::text "
        f"FROM {Item._meta.db_table} i "
        f"WHERE {where} AND i.id > %s ORDER BY i.id LIMIT {CHUNK}"
    )
    after = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(item_sql, [*params, after])
            rows = [Row(*record) for record in cursor.fetchall()]
            if not rows:
                return
            after = rows[-1].pk
            yield rows, (_annotations(cursor, export, rows) if export.include_annotations else {})


def _annotations(cursor, export: Export, rows: list[Row]) -> dict[int, list[tuple]]:
    cursor.execute(
        "SELECT a.item_id, n.name, a.label::text, a.source, "
        "to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
        f"FROM {Annotation._meta.db_table} a JOIN {Annotator._meta.db_table} n "
        "ON n.id = a.annotator_id WHERE a.organization_id = %s AND a.item_id = ANY(%s) "
        "ORDER BY a.item_id, a.id",
        [export.organization_id, [row.pk for row in rows]],
    )
    grouped: dict[int, list[tuple]] = defaultdict(list)
    for item_id, name, label, source, created_at in cursor.fetchall():
        grouped[item_id].append((name, label, source, created_at))
    return grouped


# --- rows built by the database, range by range (JSONL) -------------------------------------


def range_pieces(
    export: Export,
    query: str,
    params: list,
    piece: Callable[[list[tuple]], Piece],
    *,
    parallel: bool,
) -> Iterator[Piece]:
    """`piece(rows)` of each id range of CHUNK selected items, in id order. `query` takes
    `params`, then the range's bounds (low, high]. With `parallel`, EXPORT_WORKERS connections
    read ranges at once in this transaction's snapshot (pg_export_snapshot), each making its
    pieces, while the caller takes them in order."""
    where, where_params = selection(export)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM (SELECT i.id, row_number() OVER (ORDER BY i.id) AS n "
            f"FROM {Item._meta.db_table} i WHERE {where}) ranked WHERE n %% {CHUNK} = 0",
            where_params,
        )
        bounds = [row[0] for row in cursor.fetchall()]
        ranges = list(zip([0, *bounds], [*bounds, NO_UPPER_BOUND], strict=True))
        if not parallel or len(ranges) < 2:
            for low, high in ranges:
                cursor.execute(query, [*params, low, high])
                yield piece(cursor.fetchall())
            return
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
    yield from _parallel_ranges(query, params, ranges, snapshot, piece)


def _parallel_ranges(query: str, params: list, ranges: list, snapshot: str, piece: Callable):
    workers = min(EXPORT_WORKERS, len(ranges))
    # Each worker's results wait in its own small queue: at most 2 ranges ahead (a few MB).
    outboxes = [queue.Queue(maxsize=2) for _ in range(workers)]
    stop = threading.Event()
    connect_params = connection.get_connection_params()

    def work(k: int) -> None:
        try:
            with psycopg.connect(**connect_params) as conn:
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                conn.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                for statement in RANGE_READ_SETTINGS:
                    conn.execute(statement)
                for low, high in ranges[k::workers]:
                    if stop.is_set():
                        return
                    outboxes[k].put(piece(conn.execute(query, [*params, low, high]).fetchall()))
        except Exception as exc:  # handed to the writing thread, which raises it
            outboxes[k].put(exc)

    threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(workers)]
    for thread in threads:
        thread.start()
    try:
        for n in range(len(ranges)):
            got = outboxes[n % workers].get()
            if isinstance(got, Exception):
                raise got
            yield got
    finally:
        stop.set()
        for box in outboxes:  # unblock a worker waiting to put
            while not box.empty():
                box.get_nowait()
        for thread in threads:
            thread.join(timeout=30)
