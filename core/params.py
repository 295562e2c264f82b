"""Strict parsing of the numbers and dates a request carries: query parameters, form fields,
ids in URLs. ASCII digits only (`str.isdigit()` and `int()` also take "²", "٣" or " 7 "),
real calendar days within the supported range, whole numbers within their bounds; anything
else is a ValidationError naming the parameter, which the API answers 400 and pages show.

The serializer fields of request bodies (core.inputs) parse with the same functions."""

from __future__ import annotations

import datetime
import re

from django.core.exceptions import ValidationError

# PostgreSQL's bigint: every id column.
ID_MAX = 2**63 - 1
# The days the platform accepts: far enough either way for any real work, near enough that
# the arithmetic on them (a day after, a month before) stays inside Python's calendar.
DATE_MIN = datetime.date(2000, 1, 1)
DATE_MAX = datetime.date(2100, 12, 31)

_WHOLE = re.compile(r"[0-9]{1,20}")  # [0-9], not \d: \d is every script's digits
_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")

ID_MESSAGE = f"An id: a whole number from 1 to {ID_MAX}."
DATE_MESSAGE = "Give a date as YYYY-MM-DD."
DATE_RANGE_MESSAGE = f"A date from {DATE_MIN.isoformat()} to {DATE_MAX.isoformat()}."
MONTH_MESSAGE = "Give a month as YYYY-MM."
MONTH_RANGE_MESSAGE = f"A month from {DATE_MIN:%Y-%m} to {DATE_MAX:%Y-%m}."


class Invalid(ValueError):
    """A value refused, with the sentence that says what is wanted."""


def parse_int(value: str | int, *, minimum: int, maximum: int) -> int:
    """A whole number from its ASCII digits (or an int, not a bool) within the bounds."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _WHOLE.fullmatch(value):
        number = int(value)
    else:
        number = None
    if number is None or not minimum <= number <= maximum:
        raise Invalid(f"A whole number from {minimum} to {maximum}.")
    return number


def parse_id(value: str | int) -> int:
    try:
        return parse_int(value, minimum=1, maximum=ID_MAX)
    except Invalid:
        raise Invalid(ID_MESSAGE) from None


def parse_date(value: str | datetime.date) -> datetime.date:
    """A real calendar day written YYYY-MM-DD, within DATE_MIN..DATE_MAX."""
    if isinstance(value, datetime.datetime):
        raise Invalid(DATE_MESSAGE)
    if isinstance(value, datetime.date):
        day = value
    else:
        match = _DAY.fullmatch(value) if isinstance(value, str) else None
        if not match:
            raise Invalid(DATE_MESSAGE)
        try:
            day = datetime.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            raise Invalid(DATE_MESSAGE) from None
    if not DATE_MIN <= day <= DATE_MAX:
        raise Invalid(DATE_RANGE_MESSAGE)
    return day


def parse_month(value: str) -> datetime.date:
    """The first day of a YYYY-MM month within the supported range."""
    match = _MONTH.fullmatch(value) if isinstance(value, str) else None
    if not match or not 1 <= int(match[2]) <= 12:
        raise Invalid(MONTH_MESSAGE)
    first = datetime.date(max(int(match[1]), 1), int(match[2]), 1)
    if not DATE_MIN <= first <= DATE_MAX:
        raise Invalid(MONTH_RANGE_MESSAGE)
    return first


class Params:
    """The parameters of one request (a query string or a form), read strictly. Each reader
    returns the value (or the default when the parameter is absent or empty) and notes an
    error for a bad one; `check()` raises them all at once, each under its parameter's name.

        params = Params(request.query_params)
        limit = params.integer("limit", minimum=1, maximum=500, default=100)
        day = params.date("from")
        params.check()
    """

    def __init__(self, data):
        self.data = data
        self.errors: dict[str, list[str]] = {}

    def raw(self, name: str) -> str | None:
        value = self.data.get(name)
        return value if value else None

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def _read(self, name: str, parse, default):
        value = self.raw(name)
        if value is None:
            return default
        try:
            return parse(value)
        except Invalid as exc:
            self.error(name, str(exc))
            return default

    def integer(self, name: str, *, minimum: int, maximum: int, default: int | None = None):
        return self._read(name, lambda v: parse_int(v, minimum=minimum, maximum=maximum), default)

    def id(self, name: str) -> int | None:
        return self._read(name, parse_id, None)

    def date(self, name: str) -> datetime.date | None:
        return self._read(name, parse_date, None)

    def choice(self, name: str, choices, default: str | None = None) -> str | None:
        choices = list(choices)

        def parse(value):
            if value not in choices:
                raise Invalid(f"Choose one of: {', '.join(choices)}.")
            return value

        return self._read(name, parse, default)

    def check(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)
