"""The export formats, one module each. Every format gives `pieces(export, *, multilabel,
parallel)`: (bytes, items in them) of the file in order, read through exports.query, and
EXTENSION, the file name's."""

from __future__ import annotations

from collections.abc import Iterator

from ..models import Export, ExportFormat
from . import csv_format, jsonl, label_studio

FORMATS = {
    ExportFormat.JSONL: jsonl,
    ExportFormat.CSV: csv_format,
    ExportFormat.LABEL_STUDIO: label_studio,
}


def pieces(export: Export, *, multilabel: bool, parallel: bool) -> Iterator[tuple[bytes, int]]:
    return FORMATS[export.format].pieces(export, multilabel=multilabel, parallel=parallel)


def extension(export: Export) -> str:
    return FORMATS[export.format].EXTENSION
