"""CSV: the items' data fields as columns, then `gold` and the `lqa.*` columns (label,
confidence, agreement, status, prelabel, annotations as JSON); a multilabel label is its
labels joined by `|`. Every cell, header included, passes core's formula guard. (Not named
csv.py: it imports the standard library's csv.)"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import orjson

from core.formulas import row_guard

from .. import query
from ..models import Export

EXTENSION = "csv"
TAIL = (
    "gold", "lqa.label", "lqa.confidence", "lqa.agreement", "lqa.status", "lqa.prelabel",
    "lqa.prelabel_confidence", "lqa.annotations",
)  # fmt: skip


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


def pieces(export: Export, *, multilabel: bool, parallel: bool) -> Iterator[tuple[bytes, int]]:
    keys = query.data_keys(export)
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # \r\n endings: a cell holding \r or \n is quoted
    reserved = {"id", "gold"} | {k for k in keys if k.startswith("lqa.")}
    data_keys = [k for k in keys if k not in reserved]
    writer.writerow(row_guard(["id", *data_keys, *TAIL]))  # data keys become columns
    yield buffer.getvalue().encode(), 0
    for rows, votes in query.row_chunks(export):
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            cells = _cells(row, votes.get(row.pk, []), data_keys, multilabel, export)
            writer.writerow(row_guard(cells))
        yield buffer.getvalue().encode(), len(rows)


def _cells(
    row: query.Row, mine: list[tuple], data_keys: list[str], multilabel: bool, export: Export
) -> list[str]:
    data = orjson.loads(row.data)
    annotations = (
        orjson.dumps(
            [{"annotator": n, "label": orjson.loads(lab), "source": s} for n, lab, s, _ in mine]
        ).decode()
        if export.include_annotations
        else ""
    )
    return [
        row.external_id,
        *(_cell(data.get(k)) for k in data_keys),
        _label_cell(row.gold),
        _label_cell(row.label),
        _cell(row.confidence),
        _cell(row.agreement(mine, multilabel)),
        row.status,
        _label_cell(row.prelabel),
        _cell(row.prelabel_confidence),
        annotations,
    ]
