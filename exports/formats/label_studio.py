"""Label Studio JSON: one task per item, the final label as a ground-truth annotation and the
pre-label as a prediction (choices of the `label` control on the data's text, image, audio or
video), our own figures under meta.lqa."""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from .. import query
from ..models import Export

EXTENSION = "json"


def _result(label_text: str, to_name: str) -> list[dict]:
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


def _task(row: query.Row, annotations: list[tuple], multilabel: bool, export: Export) -> bytes:
    data = orjson.loads(row.data)
    to_name = next((k for k in ("text", "image", "audio", "video") if k in data), "data")
    ours: dict = {
        "id": row.external_id,
        "status": row.status,
        "confidence": row.confidence,
        "agreement": row.agreement(annotations, multilabel),
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
        task["annotations"].append({"result": _result(row.label, to_name), "ground_truth": True})
    if row.prelabel is not None:
        task["predictions"].append(
            {
                "result": _result(row.prelabel, to_name),
                "score": row.prelabel_confidence,
                "model_version": "labelqa-prelabel",
            }
        )
    task["meta"] = {"lqa": ours}
    return orjson.dumps(task)


def pieces(export: Export, *, multilabel: bool, parallel: bool) -> Iterator[tuple[bytes, int]]:
    """One JSON array, a task per line."""
    yield b"[", 0
    first = True
    for rows, votes in query.row_chunks(export):
        tasks = b",\n".join(_task(r, votes.get(r.pk, []), multilabel, export) for r in rows)
        yield (b"\n" if first else b",\n") + tasks, len(rows)
        first = False
    yield b"\n]\n", 0
