"""JSON lines (API.md's row): `{id, data, label, confidence, agreement, status, gold,
annotations: [{annotator, label, source, created_at}], prelabel}`, each line made whole by
PostgreSQL (~15 us for an item of 3 annotations), in id ranges, several at once."""

from __future__ import annotations

from collections.abc import Iterator

from labeling.models import Annotation, Annotator, Item

from .. import query
from ..models import Export

EXTENSION = "jsonl"


def line_query(export: Export) -> tuple[str, list]:
    """Rows (id, finished JSON line) of the selection with ids in (%s, %s], in id order. The
    line is concatenated text, not json_build_object: building a JSON value per annotation
    cost twice as much (every piece is JSON already: stored jsonb, to_json of the strings).
    Annotations and their annotators are joined, grouped by item: the name by a subselect per
    annotation was most of the time (the planner scanned the small annotator table for each)."""
    where, params = query.selection(export)
    annotations = (
        """ || ',"annotations":[' || coalesce(string_agg('{"annotator":' || to_json(n.name)::text"""
        """ || ',"label":' || a.label::text || ',"source":"' || a.source || '","created_at":"'"""
        """ || to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
        """ || '"}', ',' ORDER BY a.id), '') || ']'"""
        if export.include_annotations
        else ""
    )
    sql = (
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
    return sql, params


def _lines_of(rows: list[tuple]) -> tuple[bytes, int]:
    """A range's lines as the file's bytes (made by the reading thread, in parallel)."""
    return (("\n".join(line for _, line in rows) + "\n").encode() if rows else b""), len(rows)


def pieces(export: Export, *, multilabel: bool, parallel: bool) -> Iterator[tuple[bytes, int]]:
    # multilabel needs nothing here: the database compares labels as sets (jsonb containment)
    sql, params = line_query(export)
    return query.range_pieces(export, sql, params, _lines_of, parallel=parallel)
