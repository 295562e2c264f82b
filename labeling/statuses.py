"""The labeling app's statuses: each kind of row has its transition table (core.transitions),
and its moves go through it."""

from __future__ import annotations

from core.jobs import JOB_TRANSITIONS
from core.transitions import InvalidTransition, Transitions

from .models import ImportJob, ItemStatus

__all__ = ["InvalidTransition", "ITEM_TRANSITIONS", "import_job_transition"]


def import_job_transition(*, job: ImportJob, to: str, **fields) -> ImportJob:
    return JOB_TRANSITIONS.apply(job, to, **fields)


# Items: the queue moves open -> complete when an item reaches its overlap (and back on undo);
# quality assurance decides what a complete item becomes.
ITEM_TRANSITIONS = Transitions(
    "item",
    {
        ItemStatus.OPEN: {ItemStatus.COMPLETE},
        # complete -> open: adaptive overlap asks one more person, or a rejected audit lot goes
        # back for rework; complete -> complete: consensus (re)sets the label.
        ItemStatus.COMPLETE: {ItemStatus.OPEN, ItemStatus.COMPLETE, ItemStatus.REVIEW},
        # review -> complete: a QA lead decided; review -> review: a new reason while waiting.
        ItemStatus.REVIEW: {ItemStatus.COMPLETE, ItemStatus.REVIEW},
    },
)

