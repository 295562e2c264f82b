"""Acceptance sampling of labelled lots: ISO 2859-1 single sampling plans, normal inspection.

Table 1 gives the sample size code letter for a lot size and inspection level; Table 2-A gives
the sample size of each letter and, per AQL (in percent nonconforming), the acceptance and
rejection numbers (Ac, Re) or an arrow: "v" = use the first plan below the arrow, "^" = use
the first plan above it. Following an arrow changes the sample size (and the letter actually
used). If the resulting sample size equals or exceeds the lot size, the whole lot is inspected
(100 % inspection) with the same Ac/Re. These tables are those of MIL-STD-105E / ANSI/ASQ
Z1.4, from which ISO 2859-1 took them.

Only AQLs 0.010 to 10 are tabulated: the percent-nonconforming range, and what a labelling
lot needs (a defect is a wrongly labelled item). The per-100-units columns above 10 are left out.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import numpy as np

# Table 1: upper bound (inclusive) of each lot size range; the last range is open.
LOT_SIZE_UPPER = (8, 15, 25, 50, 90, 150, 280, 500, 1200, 3200, 10_000, 35_000, 150_000, 500_000)
# Code letter per lot size range (one character per range, in LOT_SIZE_UPPER order).
CODE_LETTERS_BY_LEVEL = {
    "S-1": "AAAABBBBCCCCDDD",
    "S-2": "AAABBBCCCDDDEEE",
    "S-3": "AABBCCDDEEFFGGH",
    "S-4": "AABCCDEEFGGHJJK",
    "I": "AABCCDEFGHJKLMN",
    "II": "ABCDEFGHJKLMNPQ",
    "III": "BCDEFGHJKLMNPQR",
}

# Table 2-A. Sample size per code letter.
SAMPLE_SIZES = {
    "A": 2, "B": 3, "C": 5, "D": 8, "E": 13, "F": 20, "G": 32, "H": 50,
    "J": 80, "K": 125, "L": 200, "M": 315, "N": 500, "P": 800, "Q": 1250, "R": 2000,
}  # fmt: skip
AQLS = (
    0.010, 0.015, 0.025, 0.040, 0.065, 0.10, 0.15, 0.25, 0.40, 0.65, 1.0, 1.5, 2.5, 4.0, 6.5, 10,
)  # fmt: skip
# Table 2-A, Ac/Re per code letter (rows) and AQL (columns, in AQLS order) as printed:
# "Ac Re", "v" (first plan below), "^" (first plan above). Each row reads ..., 0 1, ^, v, 1 2,
# 2 3, 3 4, 5 6, 7 8, 10 11, 14 15, 21 22, ^ ..., shifted one column per row (row A has no
# plan above, hence "v v" after its 0 1). R at 0.015 points down past the last row: no plan,
# aql_plan raises (R is only the letter of lots over 500,000 items at level III).
_TABLE_2A = """
A  v     v     v     v     v     v     v     v     v     v     v     v     v     v     0 1   v
B  v     v     v     v     v     v     v     v     v     v     v     v     v     0 1   ^     v
C  v     v     v     v     v     v     v     v     v     v     v     v     0 1   ^     v     1 2
D  v     v     v     v     v     v     v     v     v     v     v     0 1   ^     v     1 2   2 3
E  v     v     v     v     v     v     v     v     v     v     0 1   ^     v     1 2   2 3   3 4
F  v     v     v     v     v     v     v     v     v     0 1   ^     v     1 2   2 3   3 4   5 6
G  v     v     v     v     v     v     v     v     0 1   ^     v     1 2   2 3   3 4   5 6   7 8
H  v     v     v     v     v     v     v     0 1   ^     v     1 2   2 3   3 4   5 6   7 8   10 11
J  v     v     v     v     v     v     0 1   ^     v     1 2   2 3   3 4   5 6   7 8   10 11 14 15
K  v     v     v     v     v     0 1   ^     v     1 2   2 3   3 4   5 6   7 8   10 11 14 15 21 22
L  v     v     v     v     0 1   ^     v     1 2   2 3   3 4   5 6   7 8   10 11 14 15 21 22 ^
M  v     v     v     0 1   ^     v     1 2   2 3   3 4   5 6   7 8   10 11 14 15 21 22 ^     ^
N  v     v     0 1   ^     v     1 2   2 3   3 4   5 6   7 8   10 11 14 15 21 22 ^     ^     ^
P  v     0 1   ^     v     1 2   2 3   3 4   5 6   7 8   10 11 14 15 21 22 ^     ^     ^     ^
Q  0 1   ^     v     1 2   2 3   3 4   5 6   7 8   10 11 14 15 21 22 ^     ^     ^     ^     ^
R  ^     v     1 2   2 3   3 4   5 6   7 8   10 11 14 15 21 22 ^     ^     ^     ^     ^     ^
"""


def _parse_table(text: str) -> dict[str, list[tuple[int, int] | str]]:
    table: dict[str, list[tuple[int, int] | str]] = {}
    for line in text.strip().splitlines():
        letter, *tokens = line.split()
        cells: list[tuple[int, int] | str] = []
        while tokens:
            token = tokens.pop(0)
            cells.append(token if token in ("v", "^") else (int(token), int(tokens.pop(0))))
        if len(cells) != len(AQLS):
            raise ValueError(f"Table 2-A row {letter} has {len(cells)} cells")
        table[letter] = cells
    return table


TABLE_2A = _parse_table(_TABLE_2A)
LETTERS = tuple(TABLE_2A)


@dataclass(frozen=True)
class Plan:
    code_letter: str  # Table 1 letter for the lot size and inspection level
    sample_size: int  # items to inspect: the lot size under 100 % inspection
    accept: int  # Ac: accept the lot with at most this many defective items
    reject: int  # Re: reject it with at least this many
    plan_letter: str  # Table 2-A row actually used, after following arrows
    full_inspection: bool  # the plan's sample size reached the lot size
    lot_size: int
    aql: float


def code_letter(lot_size: int, level: str = "II") -> str:
    """Table 1: sample size code letter. Lots of 1 item count as the 2-8 range."""
    if lot_size < 1:
        raise ValueError("lot_size must be at least 1")
    try:
        letters = CODE_LETTERS_BY_LEVEL[level]
    except KeyError:
        raise ValueError(f"unknown inspection level {level!r}") from None
    band = sum(lot_size > upper for upper in LOT_SIZE_UPPER)
    return letters[band]


def _aql_column(aql) -> int:
    aql = float(aql)  # a Decimal or a string from a model field is fine too
    for column, value in enumerate(AQLS):
        if abs(aql - value) <= 1e-9 * value:
            return column
    raise ValueError(f"AQL {aql} is not one of the tabulated values {AQLS}")


def table_plan(letter: str, aql) -> tuple[int, int, str]:
    """(Ac, Re, plan letter) of a Table 2-A cell, following its arrows to the plan they mean."""
    column = _aql_column(aql)
    row = LETTERS.index(letter)
    cell = TABLE_2A[letter][column]
    while isinstance(cell, str):
        row += 1 if cell == "v" else -1
        if not 0 <= row < len(LETTERS):
            raise ValueError(f"Table 2-A has no plan for code letter {letter} at AQL {aql}")
        cell = TABLE_2A[LETTERS[row]][column]
    return cell[0], cell[1], LETTERS[row]


def aql_plan(lot_size: int, aql: float | Decimal | str, level: str = "II") -> Plan:
    """ISO 2859-1 single sampling plan, normal inspection, for a lot and an AQL (percent
    nonconforming, one of AQLS). Arrows are followed to the first plan below/above, which sets
    the sample size; a sample size >= the lot size means 100 % inspection (sample_size =
    lot_size, same Ac/Re)."""
    letter = code_letter(lot_size, level)
    accept, reject, plan_letter = table_plan(letter, aql)
    sample_size = SAMPLE_SIZES[plan_letter]
    full = sample_size >= lot_size
    return Plan(
        code_letter=letter,
        sample_size=lot_size if full else sample_size,
        accept=accept,
        reject=reject,
        plan_letter=plan_letter,
        full_inspection=full,
        lot_size=lot_size,
        aql=AQLS[_aql_column(aql)],
    )


def aql_verdict(plan: Plan, defects: int) -> Literal["accepted", "rejected"]:
    """Accept the lot when the defective items found in the sample are at most Ac."""
    if defects < 0:
        raise ValueError("defects cannot be negative")
    # Single sampling: Re = Ac + 1, so every count is decided.
    return "accepted" if defects <= plan.accept else "rejected"


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijection on uint64 that scrambles every bit."""
    with np.errstate(over="ignore"):
        x = x + _GOLDEN
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def sample_items(item_ids, n: int, seed: int) -> np.ndarray:
    """A deterministic random sample of n distinct item ids, in ascending id order.

    Each id gets a pseudo-random rank from a keyed hash (SplitMix64 of id and seed) and the n
    lowest ranks are taken. Unlike numpy's generators, whose streams may change between
    versions, the sample depends only on (the set of ids, n, seed): not on input order, nor
    on the numpy version, so an audit can be re-drawn years later. A larger n extends a smaller
    one's sample. All ids when n >= their number.
    """
    ids = np.asarray(item_ids)
    if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
        raise ValueError("item_ids must be a 1-D array of integer ids")
    if n < 0:
        raise ValueError("n cannot be negative")
    ids = ids.astype(np.int64)
    if np.unique(ids).shape[0] != ids.shape[0]:
        raise ValueError("item_ids must be distinct")
    if n >= ids.shape[0]:
        return np.sort(ids)
    key = _mix64(np.array([seed], dtype=np.int64).view(np.uint64))[0]
    ranks = _mix64(ids.view(np.uint64) ^ key)
    chosen = np.argpartition(ranks, n - 1)[:n] if n else np.zeros(0, dtype=np.int64)
    return np.sort(ids[chosen])
