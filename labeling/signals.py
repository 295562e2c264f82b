"""Signals other apps listen to (labeling never imports them: ARCHITECTURE.md)."""

from django.dispatch import Signal

# Sent after commit when items reach their overlap: sender=None, organization_id, project_id,
# item_ids (the receivers need no query to find the project's tenant).
items_completed = Signal()

# The outbox topic of a completion (core/outbox.py): written with the completion, in its
# transaction (labeling_submission() writes it in SQL), and delivered as items_completed.
ITEMS_COMPLETED = "labeling.items_completed"


def items_completed_deliver(payload: dict) -> None:
    items_completed.send(
        None,
        organization_id=payload["organization_id"],
        project_id=payload["project_id"],
        item_ids=payload["item_ids"],
    )
