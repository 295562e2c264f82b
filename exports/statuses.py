"""The one place where an export's status changes: the transition table and the conditional
UPDATE that enforces it (so that two deliveries of the task cannot both make the same move)."""

from __future__ import annotations

from .models import Export, ExportStatus

EXPORT_TRANSITIONS: dict[str, set[str]] = {
    ExportStatus.QUEUED: {ExportStatus.RUNNING, ExportStatus.FAILED},
    # running -> running: a task redelivered after its worker died starts the export again.
    ExportStatus.RUNNING: {ExportStatus.RUNNING, ExportStatus.SUCCEEDED, ExportStatus.FAILED},
    ExportStatus.SUCCEEDED: set(),
    ExportStatus.FAILED: set(),
}


def export_transition(*, export: Export, to: str, **fields) -> bool:
    """Move the export to `to` (with `fields`) if its status allows; False if it did not."""
    sources = [s for s, targets in EXPORT_TRANSITIONS.items() if to in targets]
    return bool(Export.objects.filter(pk=export.pk, status__in=sources).update(status=to, **fields))
