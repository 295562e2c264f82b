"""Rows of other tools' formats, turned into this platform's import rows.

Label Studio's JSON tasks (what its export and our `label_studio` export write):

    {"id": 17, "data": {"text": "..."},
     "annotations": [{"result": [{"type": "choices", "value": {"choices": ["spam"]}, ...}],
                      "ground_truth": true, "completed_by": 3}],
     "predictions": [{"result": [...], "score": 0.93}],
     "meta": {"lqa": {"id": "ext-17", "confidence": 0.9, "gold": "spam",
                      "annotations": [{"annotator": "vendorB/alice", "label": "spam"}]}}}

The ground-truth annotation (or the only one) is the final label, the first prediction the
pre-label; our own provenance in `meta.lqa` is taken back as it was written.
"""

from __future__ import annotations


def looks_like_label_studio(row) -> bool:
    if not isinstance(row, dict) or "data" not in row:
        return False
    if "predictions" in row or "meta" in row:
        return True
    annotations = row.get("annotations")
    return (
        isinstance(annotations, list)
        and bool(annotations)
        and isinstance(annotations[0], dict)
        and "result" in annotations[0]
    )


def _choices(result) -> list | None:
    """The choices of a Label Studio result list, or None when it holds none."""
    if not isinstance(result, list):
        return None
    for region in result:
        if isinstance(region, dict) and region.get("type") == "choices":
            choices = (region.get("value") or {}).get("choices")
            if isinstance(choices, list):
                return choices
    return None


def _label(choices: list, multilabel: bool):
    if multilabel:
        return choices
    return choices[0] if len(choices) == 1 else choices  # several: the validator says why


def from_label_studio(task: dict, *, multilabel: bool) -> dict:
    meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
    ours = meta.get("lqa") if isinstance(meta.get("lqa"), dict) else {}
    row: dict = {"data": task["data"]}
    external_id = ours.get("id", task.get("id"))
    if external_id is not None:
        row["id"] = external_id
    annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict)]
    annotations = [a for a in annotations if not a.get("was_cancelled")]
    final = [a for a in annotations if a.get("ground_truth")] or (
        annotations if len(annotations) == 1 else []
    )
    if final and (choices := _choices(final[0].get("result"))) is not None:
        row["label"] = _label(choices, multilabel)
        if ours.get("confidence") is not None:
            row["confidence"] = ours["confidence"]
    if "annotations" in ours:
        row["annotations"] = ours["annotations"]
    else:
        others = [a for a in annotations if a not in final[:1]]
        row["annotations"] = [
            {
                "annotator": f"label-studio/{a.get('completed_by', n + 1)}",
                "label": _label(choices, multilabel),
            }
            for n, a in enumerate(others)
            if (choices := _choices(a.get("result"))) is not None
        ]
    predictions = [p for p in task.get("predictions") or [] if isinstance(p, dict)]
    if predictions and (choices := _choices(predictions[0].get("result"))) is not None:
        row["prelabel"] = {"label": _label(choices, multilabel)}
        if isinstance(predictions[0].get("score"), int | float):
            row["prelabel"]["confidence"] = predictions[0]["score"]
    if ours.get("gold") is not None:
        row["gold"] = ours["gold"]
    return row
