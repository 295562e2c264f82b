"""The CSV formula guard: a cell a spreadsheet would run as a formula gets a leading quote
(OWASP's CSV injection advice). Every CSV the platform writes, header row included, goes
through cell_guard()."""

from __future__ import annotations

from collections.abc import Iterable

# What spreadsheets read as the start of a formula; tab and CR too (LibreOffice and Excel
# skip them before looking at the first character).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell_guard(value):
    """The value as a CSV cell: text that starts like a formula is quoted, anything else is
    returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def row_guard(values: Iterable) -> list:
    return [cell_guard(value) for value in values]
