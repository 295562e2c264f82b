"""One row of an import checked against its project (../shared/API.md, Imports):

    {"id": "ext-17", "data": {...}, "gold": "spam",
     "prelabel": {"label": "spam", "confidence": 0.93},
     "annotations": [{"annotator": "vendorB/alice", "label": "spam"}]}

Only `data` is required. A bad row gives one message that names the field and the reason.
A row of this platform's own exports is a valid row too, so that an export moves a labeled
dataset into another project as it is: its `label` (the final label decided there) and
`confidence` come along, `agreement` and `status` are accepted and recomputed here, and its
annotations may carry their `source` and `created_at` (informational). Label Studio tasks are
converted first (labeling/imports/interchange.py).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import orjson

ALLOWED_FIELDS = (
    "id", "data", "gold", "prelabel", "annotations", "label", "confidence", "agreement", "status",
)  # fmt: skip
ANNOTATION_FIELDS = frozenset({"annotator", "label", "source", "created_at"})
_ALLOWED = frozenset(ALLOWED_FIELDS)
MAX_EXTERNAL_ID = 200
MAX_ANNOTATOR_NAME = 200
MAX_ANNOTATIONS_PER_ROW = 100


class RowInvalid(Exception):
    pass


@dataclass(slots=True)  # not frozen: a frozen dataclass is slower to build, a million times
class CleanRow:
    external_id: str
    data_json: str  # serialized once here, written as is
    gold_json: str | None
    prelabel_json: str | None
    prelabel_confidence: float | None
    annotations: tuple[tuple[str, str], ...]  # (external annotator name, label JSON)
    label_json: str | None = None  # a final label decided elsewhere (an export's)
    label_confidence: float | None = None


class RowValidator:
    def __init__(self, *, labels: list[str], multilabel: bool):
        self.labels = frozenset(labels)
        self.multilabel = multilabel
        # Each label's JSON text, made once: a row's label is then one dict lookup.
        self.label_json = {label: orjson.dumps(label).decode() for label in labels}
        shown = ", ".join(labels[:20]) + (", ..." if len(labels) > 20 else "")
        self.label_set_text = f"({shown})"

    def label(self, value, field: str) -> str:
        """The label as JSON text, or RowInvalid naming the field."""
        if self.multilabel:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise RowInvalid(f"'{field}' must be a list of labels in this multi-label project.")
            unknown = [v for v in value if v not in self.labels]
            if unknown:
                raise RowInvalid(
                    f"'{field}' has {unknown[0]!r}, which is not in the label set "
                    f"{self.label_set_text}."
                )
            if len(set(value)) != len(value):
                raise RowInvalid(f"'{field}' repeats a label.")
            return orjson.dumps(sorted(value)).decode()
        if type(value) is str and value in self.label_json:
            return self.label_json[value]
        if not isinstance(value, str):
            raise RowInvalid(f"'{field}' must be one label (a string), got {_kind(value)}.")
        raise RowInvalid(
            f"'{field}' is {value!r}, which is not in the label set {self.label_set_text}."
        )

    def clean(self, row) -> CleanRow:
        if not isinstance(row, dict):
            raise RowInvalid(f"A row must be a JSON object, got {_kind(row)}.")
        if not row.keys() <= _ALLOWED:
            unknown = [key for key in row if key not in _ALLOWED]
            raise RowInvalid(
                f"Unknown field {unknown[0]!r}; a row has {', '.join(ALLOWED_FIELDS)} "
                "(put your own fields inside 'data')."
            )
        if "data" not in row:
            raise RowInvalid("The row has no 'data' (the only required field).")
        data = row["data"]
        if not isinstance(data, dict):
            raise RowInvalid(f"'data' must be an object, got {_kind(data)}.")
        data_json = orjson.dumps(data).decode()
        if "\\u0000" in data_json:
            raise RowInvalid("'data' holds a NUL character (\\u0000), which cannot be stored.")

        if "id" in row:
            external_id = row["id"]
            kind = type(external_id)
            if kind is not str and kind is not int:
                raise RowInvalid(f"'id' must be a string or an integer, got {_kind(external_id)}.")
            external_id = str(external_id).strip()
            if "\x00" in external_id:
                raise RowInvalid("'id' holds a NUL character.")
            if not external_id:
                raise RowInvalid("'id' is empty.")
            if len(external_id) > MAX_EXTERNAL_ID:
                raise RowInvalid(f"'id' is longer than {MAX_EXTERNAL_ID} characters.")
        else:
            # No id: the content names the item, so that uploading the same rows twice is
            # idempotent like any other import.
            digest = hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()
            external_id = f"sha256:{digest[:40]}"

        gold_json = self.label(row["gold"], "gold") if row.get("gold") is not None else None

        prelabel_json = prelabel_confidence = None
        if row.get("prelabel") is not None:
            prelabel = row["prelabel"]
            if not isinstance(prelabel, dict) or "label" not in prelabel:
                raise RowInvalid(
                    '\'prelabel\' must be an object {"label": ..., "confidence": 0..1}.'
                )
            extra = [key for key in prelabel if key not in ("label", "confidence")]
            if extra:
                raise RowInvalid(f"'prelabel' has an unknown field {extra[0]!r}.")
            prelabel_json = self.label(prelabel["label"], "prelabel.label")
            prelabel_confidence = _confidence(prelabel.get("confidence"), "prelabel.confidence")

        annotations: tuple[tuple[str, str], ...] = ()
        if row.get("annotations") is not None:
            annotations = self._annotations(row["annotations"])
        label_json = label_confidence = None
        if row.get("label") is not None:
            label_json = self.label(row["label"], "label")
            label_confidence = _confidence(row.get("confidence"), "confidence")
        return CleanRow(
            external_id,
            data_json,
            gold_json,
            prelabel_json,
            prelabel_confidence,
            annotations,
            label_json,
            label_confidence,
        )

    def _annotations(self, value) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, list):
            raise RowInvalid('\'annotations\' must be a list of {"annotator", "label"} objects.')
        if len(value) > MAX_ANNOTATIONS_PER_ROW:
            raise RowInvalid(f"'annotations' has more than {MAX_ANNOTATIONS_PER_ROW} entries.")
        seen: set[str] = set()
        cleaned = []
        for n, entry in enumerate(value):
            field = f"annotations[{n}]"
            if not isinstance(entry, dict) or not entry.keys() <= ANNOTATION_FIELDS:
                raise RowInvalid(f"'{field}' must be an object with 'annotator' and 'label'.")
            name = entry.get("annotator")
            if not isinstance(name, str) or not name.strip():
                raise RowInvalid(f"'{field}.annotator' must name the annotator.")
            name = name.strip()
            if len(name) > MAX_ANNOTATOR_NAME:
                raise RowInvalid(
                    f"'{field}.annotator' is longer than {MAX_ANNOTATOR_NAME} characters."
                )
            if "label" not in entry:
                raise RowInvalid(f"'{field}' has no 'label'.")
            if entry.get("source") == "review":
                continue  # an export's review decision: its `label` is the row's final label
            if name in seen:
                raise RowInvalid(f"'{field}': {name!r} labels this row twice.")
            seen.add(name)
            cleaned.append((name, self.label(entry["label"], f"{field}.label")))
        return tuple(cleaned)


def _confidence(value, field: str) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0.0 <= value <= 1.0
    ):
        raise RowInvalid(f"'{field}' must be a number from 0 to 1, got {value!r}.")
    return float(value)


def _kind(value) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__
    )
