"""The adaptive overlap rule: how many people label an item, given the model's confidence.

A confident item (calibrated confidence >= threshold) needs one annotation, who confirms or
corrects the pre-label; any other needs the project's full overlap. A seeded share of the
confident items (the audit) still gets full overlap, so the agreement on them keeps measuring
whether "confident" deserves its single annotation; without it a drifting model would go
unnoticed exactly where it is trusted.

The audit is drawn per item from a hash of (seed, item key): the same item gets the same
answer however the items are chunked or ordered, and re-planning changes nothing (Celery
retries are harmless). Each confident item is audited with probability `audit_share`, so the
audited count is `audit_share` of the confident ones on average, not exactly.
"""

import hashlib
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np


class OverlapPlan(NamedTuple):
    needed: np.ndarray  # int64 annotations each item needs
    confident: np.ndarray  # bool: confidence >= threshold
    audit: np.ndarray  # bool: confident, but picked for full overlap anyway


def needed_annotations(confidence: np.ndarray, threshold: float, full_overlap: int) -> np.ndarray:
    """1 for items whose confidence reaches the threshold, `full_overlap` for the others."""
    if full_overlap < 1:
        raise ValueError("full_overlap must be at least 1")
    confidence = np.asarray(confidence, dtype=np.float64)
    return np.where(confidence >= threshold, 1, full_overlap).astype(np.int64)


def audit_draw(keys: Sequence, seed: int) -> np.ndarray:
    """A stable number in [0, 1) per item key: items with a draw < share are audited."""
    out = np.empty(len(keys), dtype=np.float64)
    for position, key in enumerate(keys):
        digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
        out[position] = int.from_bytes(digest, "big") / 2**64
    return out


def overlap_plan(
    confidence: np.ndarray,
    keys: Sequence,
    *,
    threshold: float,
    full_overlap: int,
    audit_share: float,
    seed: int,
) -> OverlapPlan:
    """Annotations needed per item (aligned with `keys`, e.g. item ids): 1 for confident items
    except the audited ones, `full_overlap` for the rest."""
    if not 0.0 <= audit_share <= 1.0:
        raise ValueError("audit_share must be within [0, 1]")
    confidence = np.asarray(confidence, dtype=np.float64)
    if len(keys) != len(confidence):
        raise ValueError(f"{len(keys)} keys for {len(confidence)} confidences")
    needed = needed_annotations(confidence, threshold, full_overlap)
    confident = needed == 1
    audit = confident & (audit_draw(keys, seed) < audit_share)
    if full_overlap > 1:
        needed[audit] = full_overlap
    return OverlapPlan(needed, confident, audit)
