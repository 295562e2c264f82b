"""Signals other apps listen to (labeling never imports them: ARCHITECTURE.md)."""

from django.dispatch import Signal

# Sent after commit when items reach their overlap: sender=None, organization_id, project_id,
# item_ids (the receivers need no query to find the project's tenant).
items_completed = Signal()
