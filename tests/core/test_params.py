"""core.params and core.inputs on their own: what they take and what they refuse."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.http import QueryDict

from core import inputs, params
from core.params import DATE_MAX, DATE_MIN, ID_MAX, Invalid, Params

# Each of these passes str.isdigit() or int() (or both), and none is a whole number written in
# ASCII digits.
NOT_ASCII_WHOLE = ["²", "①", "٣", "١٢", "1e3", " 7", "7 ", "+7", "-7", "7.0", "0x10", "", "1_000"]


@pytest.mark.parametrize("text", NOT_ASCII_WHOLE)
def test_whole_numbers_are_ascii_digits_only(text):
    with pytest.raises(Invalid) as error:
        params.parse_int(text, minimum=0, maximum=10**6)
    assert str(error.value) == "A whole number from 0 to 1000000."


@pytest.mark.parametrize("value", [7.0, True, None, [7], b"7"])
def test_whole_numbers_are_not_other_types(value):
    with pytest.raises(Invalid):
        params.parse_int(value, minimum=0, maximum=10)


def test_whole_numbers_within_their_bounds():
    assert params.parse_int("007", minimum=1, maximum=500) == 7
    assert params.parse_int(500, minimum=1, maximum=500) == 500
    for outside in ("0", "501", 501, "9" * 21):
        with pytest.raises(Invalid):
            params.parse_int(outside, minimum=1, maximum=500)


def test_ids_fit_a_bigint():
    assert params.parse_id(str(ID_MAX)) == ID_MAX == 2**63 - 1
    assert params.parse_id(1) == 1
    for outside in ("0", 0, str(2**63), 2**63, "9" * 30, -1):
        with pytest.raises(Invalid) as error:
            params.parse_id(outside)
        assert str(error.value) == params.ID_MESSAGE


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-02-30", params.DATE_MESSAGE),  # not a day of the calendar
        ("2026-3-1", params.DATE_MESSAGE),
        ("20260301", params.DATE_MESSAGE),
        ("٢٠٢٦-٠٣-٠١", params.DATE_MESSAGE),  # Arabic-Indic digits
        ("2026-03-01T00:00", params.DATE_MESSAGE),
        ("0001-01-05", params.DATE_RANGE_MESSAGE),
        ("9999-12-31", params.DATE_RANGE_MESSAGE),
        ("1999-12-31", params.DATE_RANGE_MESSAGE),
        ("2101-01-01", params.DATE_RANGE_MESSAGE),
        ("0000-01-01", params.DATE_MESSAGE),
    ],
)
def test_dates_are_real_days_in_the_supported_range(text, message):
    with pytest.raises(Invalid) as error:
        params.parse_date(text)
    assert str(error.value) == message


def test_the_range_is_a_named_constant_and_its_ends_are_in_it():
    assert params.parse_date("2000-01-01") == DATE_MIN == datetime.date(2000, 1, 1)
    assert params.parse_date("2100-12-31") == DATE_MAX == datetime.date(2100, 12, 31)
    assert params.parse_date("2024-02-29") == datetime.date(2024, 2, 29)
    assert params.parse_month("2000-01") == DATE_MIN
    assert params.parse_month("2100-12") == datetime.date(2100, 12, 1)
    with pytest.raises(Invalid):
        params.parse_date(datetime.datetime(2026, 3, 1))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9999-12", params.MONTH_RANGE_MESSAGE),
        ("0001-01", params.MONTH_RANGE_MESSAGE),
        ("0000-01", params.MONTH_RANGE_MESSAGE),
        ("2101-01", params.MONTH_RANGE_MESSAGE),
        ("2026-13", params.MONTH_MESSAGE),
        ("2026-00", params.MONTH_MESSAGE),
        ("٢٠٢٦-٠٣", params.MONTH_MESSAGE),
        ("2026-3", params.MONTH_MESSAGE),
    ],
)
def test_months(text, message):
    with pytest.raises(Invalid) as error:
        params.parse_month(text)
    assert str(error.value) == message


def test_params_name_every_bad_parameter_at_once():
    query = QueryDict("limit=①&dataset=²&from=0001-01-01&status=bogus&to=&page=3")
    reader = Params(query)
    assert reader.integer("limit", minimum=1, maximum=500, default=100) == 100
    assert reader.id("dataset") is None
    assert reader.date("from") is None
    assert reader.date("to") is None  # empty: absent
    assert reader.choice("status", ["open", "complete"]) is None
    assert reader.integer("page", minimum=1, maximum=10) == 3
    with pytest.raises(ValidationError) as error:
        reader.check()
    assert error.value.message_dict == {
        "limit": ["A whole number from 1 to 500."],
        "dataset": [params.ID_MESSAGE],
        "from": [params.DATE_RANGE_MESSAGE],
        "status": ["Choose one of: open, complete."],
    }


def test_params_without_errors_pass():
    reader = Params(QueryDict("limit=20&from=2026-03-01"))
    assert reader.integer("limit", minimum=1, maximum=500) == 20
    assert reader.date("from") == datetime.date(2026, 3, 1)
    reader.check()


def _nested(depth: int, kind: str):
    value = 1
    for _ in range(depth):
        value = [value] if kind == "array" else {"a": value}
    return value


@pytest.mark.parametrize("kind", ["array", "object"])
def test_json_depth(kind):
    assert not inputs.json_depth_exceeds(_nested(inputs.MAX_JSON_DEPTH, kind))
    assert inputs.json_depth_exceeds(_nested(inputs.MAX_JSON_DEPTH + 1, kind))
    # Siblings do not add up: only the deepest path counts.
    wide = {str(n): _nested(inputs.MAX_JSON_DEPTH - 1, kind) for n in range(50)}
    assert not inputs.json_depth_exceeds(wide)
