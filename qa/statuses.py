"""Quality assurance's statuses, each through its transition table (core.transitions)."""

from __future__ import annotations

from core.transitions import Transitions

from .models import Audit, ReviewStatus

# A review is decided once (by a QA lead, or closed with its rejected audit lot).
REVIEW_TRANSITIONS = Transitions(
    "review", {ReviewStatus.OPEN: {ReviewStatus.DECIDED}, ReviewStatus.DECIDED: set()}
)
# An audit's verdict is final: accepted, or rejected and its lot sent back for rework.
AUDIT_TRANSITIONS = Transitions(
    "audit",
    {
        Audit.Status.INSPECTING: {Audit.Status.ACCEPTED, Audit.Status.REJECTED},
        Audit.Status.ACCEPTED: set(),
        Audit.Status.REJECTED: set(),
    },
)
