"""Signals other apps listen to (labeling never imports them: ARCHITECTURE.md)."""

from django.dispatch import Signal

# Sent after commit when items reach their overlap: sender=None, project_id, item_ids.
items_completed = Signal()
