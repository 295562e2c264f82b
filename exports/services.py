"""Labeled exports: JSONL, CSV and Label Studio JSON, written as a Celery job into storage with
a QA certificate beside the data, and fetched through a link that expires.

The rows are read in id order, CHUNK items at a time by keyset (each read an index range scan
of (organization, project, status, id)), inside one REPEATABLE READ transaction,
so that the file is one consistent snapshot and memory stays constant however big the project.
Each line is assembled from the stored JSON text (the database's own, never decoded and
encoded again), which is what makes a million rows a matter of seconds.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import tempfile
from collections import defaultdict
from dataclasses import dataclass

import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from billing.services import usage_add
from labeling.models import Annotation, Annotator, Item, ItemStatus
from qa import reports
from qa.data import Filters
from tenancy.models import Project, TaskType

from .models import Export, ExportFormat, ExportStatus

logger = logging.getLogger(__name__)

# Items per read: 5,000 rows of a few hundred bytes plus their annotations, a few MB in memory.
CHUNK = 5_000
# Progress is written every this many rows (on its own connection, outside the snapshot).
PROGRESS_EVERY = 50_000
# A CSV cell starting with one of these is a formula to a spreadsheet: it gets a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Incremental exports start this long before the previous export's snapshot: a label stamped
# just before that snapshot but committed just after it was not in that file and must be in
# this one. Rows sent twice are the same item again (clients upsert by id).
INCREMENTAL_OVERLAP = datetime.timedelta(minutes=5)
EXPORT_TRANSITIONS = {
    ExportStatus.QUEUED: {ExportStatus.RUNNING, ExportStatus.FAILED},
    ExportStatus.RUNNING: {ExportStatus.RUNNING, ExportStatus.SUCCEEDED, ExportStatus.FAILED},
    ExportStatus.SUCCEEDED: set(),
    ExportStatus.FAILED: set(),
}


class Expired(Exception):
    """The export's download link has expired (410)."""


def csv_safe(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _transition(export: Export, to: str, **fields) -> bool:
    sources = [s for s, targets in EXPORT_TRANSITIONS.items() if to in targets]
    return bool(Export.objects.filter(pk=export.pk, status__in=sources).update(status=to, **fields))


# --- creating -------------------------------------------------------------------------------


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
    Incremental: only items whose final label changed since this project's last export."""
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
            Export.objects.filter(project=project, status=ExportStatus.SUCCEEDED)
            .order_by("-started_at")
            .first()
        )
        since = previous.started_at - INCREMENTAL_OVERLAP if previous else None
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
    from .tasks import export_run

    transaction.on_commit(
        lambda: export_run.delay(export_id=export.pk, organization_id=export.organization_id)
    )
    return export


# --- reading ----------------------------------------------------------------------------------


def _where(export: Export) -> tuple[str, list]:
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


def _chunks(export: Export):
    """Lists of rows in id order, with {item id: [annotation tuples]} for each list."""
    where, params = _where(export)
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


def _agreement(row: Row, annotations: list[tuple], multilabel: bool) -> float | None:
    """The share of the item's (non-review) annotations that equal its final label."""
    if row.label is None:
        return None
    votes = [label for _, label, source, _ in annotations if source != "review"]
    if not votes:
        return None
    if multilabel:
        final = sorted(orjson.loads(row.label))
        same = sum(1 for vote in votes if sorted(orjson.loads(vote)) == final)
    else:
        same = sum(1 for vote in votes if vote == row.label)
    return round(same / len(votes), 4)


# --- formats ------------------------------------------------------------------------------------


def _num(value: float | None) -> str:
    return "null" if value is None else repr(float(value))


def _label_cell(text: str | None) -> str:
    if text is None:
        return ""
    value = orjson.loads(text)
    return "|".join(value) if isinstance(value, list) else value


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


CSV_TAIL = (
    "gold", "lqa.label", "lqa.confidence", "lqa.agreement", "lqa.status", "lqa.prelabel",
    "lqa.prelabel_confidence", "lqa.annotations",
)  # fmt: skip


def _data_keys(export: Export) -> list[str]:
    """Every key of the exported items' data, in first-seen order (CSV needs its header
    before the first row): one pass of the database over the rows."""
    where, params = _where(export)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT k FROM (SELECT DISTINCT ON (k) k, i.id FROM {Item._meta.db_table} i, "
            f"jsonb_object_keys(i.data) k WHERE {where} ORDER BY k, i.id) first "
            "ORDER BY id, k",
            params,
        )
        return [key for (key,) in cursor.fetchall()]


def _csv_lines(export: Export, keys: list[str], multilabel: bool):
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)  # \r\n endings: a cell holding \r or \n is quoted
    reserved = {"id", "gold"} | {k for k in keys if k.startswith("lqa.")}
    data_keys = [k for k in keys if k not in reserved]
    writer.writerow(["id", *data_keys, *CSV_TAIL])
    yield buffer.getvalue(), 0
    for rows, votes in _chunks(export):
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            data = orjson.loads(row.data)
            mine = votes.get(row.pk, [])
            cells = [row.external_id, *(_cell(data.get(k)) for k in data_keys)]
            cells += [
                _label_cell(row.gold),
                _label_cell(row.label),
                _cell(row.confidence),
                _cell(_agreement(row, mine, multilabel)),
                row.status,
                _label_cell(row.prelabel),
                _cell(row.prelabel_confidence),
                orjson.dumps(
                    [
                        {"annotator": n, "label": orjson.loads(lab), "source": s}
                        for n, lab, s, _ in mine
                    ]
                ).decode()
                if export.include_annotations
                else "",
            ]
            writer.writerow([csv_safe(cell) for cell in cells])
        yield buffer.getvalue(), len(rows)


def _label_studio_result(label_text: str, to_name: str) -> list[dict]:
    value = orjson.loads(label_text)
    choices = value if isinstance(value, list) else [value]
    return [
        {
            "from_name": "label",
            "to_name": to_name,
            "type": "choices",
            "value": {"choices": choices},
        }
    ]


def _label_studio_task(row: Row, annotations: list[tuple], multilabel: bool, export) -> bytes:
    data = orjson.loads(row.data)
    to_name = next((k for k in ("text", "image", "audio", "video") if k in data), "data")
    ours: dict = {
        "id": row.external_id,
        "status": row.status,
        "confidence": row.confidence,
        "agreement": _agreement(row, annotations, multilabel),
    }
    if row.gold is not None:
        ours["gold"] = orjson.loads(row.gold)
    if export.include_annotations:
        ours["annotations"] = [
            {"annotator": n, "label": orjson.loads(lab), "source": s, "created_at": c}
            for n, lab, s, c in annotations
        ]
    task: dict = {"id": row.pk, "data": data, "annotations": [], "predictions": []}
    if row.label is not None:
        task["annotations"].append(
            {"result": _label_studio_result(row.label, to_name), "ground_truth": True}
        )
    if row.prelabel is not None:
        task["predictions"].append(
            {
                "result": _label_studio_result(row.prelabel, to_name),
                "score": row.prelabel_confidence,
                "model_version": "labelqa-prelabel",
            }
        )
    task["meta"] = {"lqa": ours}
    return orjson.dumps(task)


def _lines(export: Export, multilabel: bool, parallel: bool = False):
    """(bytes, rows in them) pieces of the file, in order."""
    if export.format == ExportFormat.CSV:
        for text, count in _csv_lines(export, _data_keys(export), multilabel):
            yield text.encode(), count
        return
    if export.format == ExportFormat.JSONL:
        yield from _jsonl_copy(export, parallel=parallel)
        return
    first = True
    yield b"[", 0
    for rows, votes in _chunks(export):
        tasks = b",\n".join(
            _label_studio_task(r, votes.get(r.pk, []), multilabel, export) for r in rows
        )
        yield (b"\n" if first else b",\n") + tasks, len(rows)
        first = False
    yield b"\n]\n", 0


def _jsonl_query(export: Export) -> tuple[str, list]:
    """Rows (id, finished JSON line) of the selection with ids in (%s, %s], in id order. The
    line is concatenated text, not json_build_object: building a JSON value per annotation
    cost twice as much (every piece is JSON already: stored jsonb, to_json of the strings).
    Annotations and their annotators are joined, grouped by item: the name by a subselect per
    annotation was most of the time (the planner scanned the small annotator table for each)."""
    where, params = _where(export)
    annotations = (
        """ || ',"annotations":[' || coalesce(string_agg('{"annotator":' || to_json(n.name)::text"""
        """ || ',"label":' || a.label::text || ',"source":"' || a.source || '","created_at":"'"""
        """ || to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
        """ || '"}', ',' ORDER BY a.id), '') || ']'"""
        if export.include_annotations
        else ""
    )
    query = (
        """SELECT i.id, '{"id":' || to_json(i.external_id)::text || ',"data":' || i.data::text"""
        """ || ',"label":' || coalesce(i.label::text, 'null')"""
        """ || ',"confidence":' || coalesce(i.confidence::text, 'null')"""
        """ || ',"agreement":' || coalesce(round(avg(CASE WHEN a.source <> 'review' THEN"""
        """ (a.label @> i.label AND i.label @> a.label)::int END)::numeric, 4)::text, 'null')"""
        """ || ',"status":"' || i.status || '","gold":' || coalesce(i.gold_label::text, 'null')"""
        f"{annotations}"
        """ || ',"prelabel":' || CASE WHEN i.prelabel IS NULL THEN 'null' ELSE"""
        """ '{"label":' || i.prelabel::text || ',"confidence":'"""
        """ || coalesce(i.prelabel_confidence::text, 'null') || '}' END || '}'"""
        f" FROM {Item._meta.db_table} i LEFT JOIN {Annotation._meta.db_table} a"
        f" ON a.item_id = i.id LEFT JOIN {Annotator._meta.db_table} n ON n.id = a.annotator_id"
        f" WHERE {where} AND i.id > %s AND i.id <= %s GROUP BY i.id ORDER BY i.id"
    )
    return query, params


def _lines_of(rows) -> bytes:
    return ("\n".join(line for _, line in rows) + "\n").encode() if rows else b""


# The last id of the largest Item.id: an open upper bound for the last range.
NO_UPPER_BOUND = 2**63 - 1


def _jsonl_copy(export: Export, *, parallel: bool):
    """The selection in id ranges of CHUNK rows, each row one finished JSON line made by
    PostgreSQL. Building the lines is the database's work (~15 us for a row of 3 annotations);
    with `parallel`, EXPORT_WORKERS connections build ranges at once in the same snapshot
    (pg_export_snapshot) while this thread writes them in order."""
    query, params = _jsonl_query(export)
    where, where_params = _where(export)
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
                rows = cursor.fetchall()
                yield _lines_of(rows), len(rows)
            return
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        yield from _parallel_ranges(query, params, ranges, snapshot)


# Connections that build export lines at once: the machine's cores, at most 4.
EXPORT_WORKERS = max(2, min(4, os.cpu_count() or 2))
# Every range reader's: the planner prices a range of a big project high enough to JIT-compile
# it, which costs more than running it (tenths of a second), and to start parallel workers for
# it, processes of a few ms competing for the cores the export's own connections use.
RANGE_READ_SETTINGS = ("SET LOCAL jit = off", "SET LOCAL max_parallel_workers_per_gather = 0")


def _parallel_ranges(query: str, params: list, ranges: list, snapshot: str):
    import queue
    import threading

    import psycopg

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
                    rows = conn.execute(query, [*params, low, high]).fetchall()
                    outboxes[k].put((_lines_of(rows), len(rows)))
        except Exception as exc:  # handed to the writing thread, which raises it
            outboxes[k].put(exc)

    threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(workers)]
    for thread in threads:
        thread.start()
    try:
        for n in range(len(ranges)):
            piece = outboxes[n % workers].get()
            if isinstance(piece, Exception):
                raise piece
            yield piece
    finally:
        stop.set()
        for box in outboxes:  # unblock a worker waiting to put
            while not box.empty():
                box.get_nowait()
        for thread in threads:
            thread.join(timeout=30)


# --- running ----------------------------------------------------------------------------------


EXTENSIONS = {
    ExportFormat.JSONL: "jsonl",
    ExportFormat.CSV: "csv",
    ExportFormat.LABEL_STUDIO: "json",
}


# The settings' second connection: progress is seen while the export's snapshot is open.
PROGRESS_DB = "progress"


def _progress_manager():
    return Export.objects.using(PROGRESS_DB)


def export_run(*, export_id: int) -> Export:
    """Write the file, its certificate, and count the exported items (idempotent: a finished
    export is left as it is; a redelivered running one starts again)."""
    export = Export.objects.select_related("project").get(pk=export_id)
    if export.status in (ExportStatus.SUCCEEDED, ExportStatus.FAILED):
        return export
    if not _transition(export, ExportStatus.RUNNING, started_at=timezone.now()):
        export.refresh_from_db()
        return export
    project = export.project
    multilabel = project.task_type == TaskType.MULTILABEL
    directory = os.path.join(settings.MEDIA_ROOT, "exports")
    os.makedirs(directory, exist_ok=True)
    handle, path = tempfile.mkstemp(prefix=f"export-{export.pk}-", dir=directory)
    digest = hashlib.sha256()
    size = rows = 0
    try:
        outermost = not connection.in_atomic_block  # a task: yes; inside a test: no
        # 1. Read and write the file in one snapshot. Nothing is written to the database here
        # (progress goes through its own connection), so the snapshot never conflicts.
        with transaction.atomic():
            with connection.cursor() as cursor:
                if outermost:  # one snapshot for every read of the file
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                for statement in RANGE_READ_SETTINGS:
                    cursor.execute(statement)
                cursor.execute("SELECT clock_timestamp()")
                snapshot = cursor.fetchone()[0]
            total = _count(export)
            _progress_manager().filter(pk=export.pk).update(total=total, started_at=snapshot)
            next_report = PROGRESS_EVERY
            with os.fdopen(handle, "wb") as out:
                for data, count in _lines(export, multilabel, parallel=outermost):
                    out.write(data)
                    digest.update(data)
                    size += len(data)
                    rows += count
                    if rows >= next_report:
                        _progress_manager().filter(pk=export.pk).update(rows=rows)
                        next_report += PROGRESS_EVERY
        # 2. The certificate, the file in place, and the success with its usage, together.
        certificate = _certificate(
            export, rows=rows, sha256=digest.hexdigest(), size=size, snapshot=snapshot
        )
        # Moved into place, not copied: the file was written in the storage's folder.
        # (Object storage would upload it here instead.)
        name = default_storage.get_available_name(
            f"exports/project-{project.pk}-export-{export.pk}.{EXTENSIONS[export.format]}"
        )
        os.replace(path, default_storage.path(name))
        export.file.name = name
        finished = timezone.now()
        with transaction.atomic():
            done = _transition(
                export,
                ExportStatus.SUCCEEDED,
                rows=rows,
                total=rows,
                size_bytes=size,
                sha256=digest.hexdigest(),
                certificate=certificate,
                file=export.file.name,
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
    except Exception as exc:
        _transition(export, ExportStatus.FAILED, finished_at=timezone.now(),
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


def _count(export: Export) -> int:
    where, params = _where(export)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {Item._meta.db_table} i WHERE {where}", params)
        return cursor.fetchone()[0]


def _certificate(export: Export, *, rows: int, sha256: str, size: int, snapshot) -> dict:
    """What a client needs to prove later what it received, and how good it was."""
    project = export.project
    report, state = reports.report_get(project=project, filters=Filters(), background=False)
    gold_answered = sum(r["gold_answered"] for r in report["per_annotator"]) if report else 0
    gold_right = (
        sum(r["gold_answered"] * (r["gold_accuracy"] or 0) for r in report["per_annotator"])
        if report
        else 0
    )
    counts = dict(
        Item.objects.filter(organization_id=project.organization_id, project=project)
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {
        "export": export.pk,
        "project": {"id": project.pk, "name": project.name},
        "organization": project.organization.name,
        "format": export.format,
        "filters": export.filters,
        "incremental_since": export.since.isoformat() if export.since else None,
        "rows": rows,
        "bytes": size,
        "sha256": sha256,
        "snapshot_at": snapshot.isoformat(),
        "project_items": {status: counts.get(status, 0) for status in ItemStatus.values},
        "consensus_method": project.consensus,
        "min_agreement": project.min_agreement,
        "overlap": project.overlap,
        "krippendorff_alpha": report["krippendorff_alpha"] if report else None,
        "krippendorff_alpha_ci": report.get("krippendorff_alpha_ci") if report else None,
        "fleiss_kappa": report.get("fleiss_kappa") if report else None,
        "annotations": report["annotations"] if report else None,
        "gold_answers": gold_answered,
        "gold_accuracy": round(gold_right / gold_answered, 4) if gold_answered else None,
        "reasons": (report or {}).get("reasons", {}) if report else {"report": "not available"},
        "report_computed_at": state["computed_at"].isoformat() if state["computed_at"] else None,
        "issued_at": timezone.now().isoformat(),
        "issuer": "LabelQA",
    }


def export_file_for_download(*, export: Export):
    """The stored file, or Expired once its link's time is up."""
    if export.status != ExportStatus.SUCCEEDED or not export.file:
        raise ValidationError({"status": [f"The export is {export.status}: no file yet."]})
    if export.expires_at and export.expires_at <= timezone.now():
        raise Expired("This download link has expired; start a new export.")
    return export.file.open("rb")
