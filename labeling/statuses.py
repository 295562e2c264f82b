"""The one place where statuses change: a transition table per model and the function that
enforces it with a conditional UPDATE (so that two workers cannot both make the same move)."""

from __future__ import annotations

from .models import ImportJob, ImportStatus, ItemStatus


class InvalidTransition(Exception):
    pass


IMPORT_TRANSITIONS: dict[str, set[str]] = {
    ImportStatus.QUEUED: {ImportStatus.RUNNING, ImportStatus.FAILED},
    # running -> running: a task redelivered after its worker died starts the job again.
    ImportStatus.RUNNING: {ImportStatus.RUNNING, ImportStatus.SUCCEEDED, ImportStatus.FAILED},
    ImportStatus.SUCCEEDED: set(),
    ImportStatus.FAILED: set(),
}


def import_job_transition(*, job: ImportJob, to: str, **fields) -> ImportJob:
    sources = [status for status, targets in IMPORT_TRANSITIONS.items() if to in targets]
    updated = ImportJob.objects.filter(pk=job.pk, status__in=sources).update(status=to, **fields)
    if not updated:
        current = ImportJob.objects.filter(pk=job.pk).values_list("status", flat=True).first()
        raise InvalidTransition(f"import {job.pk}: {current} -> {to} is not allowed")
    job.status = to
    for name, value in fields.items():
        setattr(job, name, value)
    return job


# Items: the queue moves open -> complete when an item reaches its overlap (and back on undo);
# quality assurance decides what a complete item becomes.
ITEM_TRANSITIONS: dict[str, set[str]] = {
    ItemStatus.OPEN: {ItemStatus.COMPLETE},
    # complete -> open: adaptive overlap asks one more person, or a rejected audit lot goes
    # back for rework; complete -> complete: consensus (re)sets the label.
    ItemStatus.COMPLETE: {ItemStatus.OPEN, ItemStatus.COMPLETE, ItemStatus.REVIEW},
    # review -> complete: a QA lead decided; review -> review: a new reason while waiting.
    ItemStatus.REVIEW: {ItemStatus.COMPLETE, ItemStatus.REVIEW},
}


def item_sources(to: str) -> list[str]:
    """The statuses an item may leave for `to` (for the conditional UPDATE of a transition)."""
    return [status for status, targets in ITEM_TRANSITIONS.items() if to in targets]
