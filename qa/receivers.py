"""qa's answer to labeling's signals (delivered from the outbox after the commit: a receiver
that raises leaves the message for the outbox's sweep, which delivers it again).

Without a broker (the demo, the unit tests: tasks run eagerly) consensus decides the completed
items at once, in the calling process. With a broker a completion only marks its project
(pending.py, one Redis command) and the completion that set the mark enqueues one sweep of the
project SWEEP_DELAY later: at a hundred completions a second, one task decides a second's worth
of items in batches instead of a hundred tasks deciding one item each."""

import contextlib

from core.enqueue import runs_in_process, send

from .pending import consensus_pending_clear, consensus_pending_mark

# Seconds between a project's first pending completion and its sweep: long enough to gather
# the completions of many annotators into one task, short enough that a label is final (for
# exports, undo, reports) about as soon as it was with one task per item.
SWEEP_DELAY = 1


def on_items_completed(
    sender, *, organization_id: int, project_id: int, item_ids: list[int], **kwargs
) -> None:
    if runs_in_process():
        send("qa.consensus_items", organization_id, project_id, list(item_ids))
    elif consensus_pending_mark(project_id=project_id):
        try:
            send("qa.consensus_sweep", organization_id, project_id, countdown=SWEEP_DELAY)
        except Exception:
            # A mark without its sweep would keep the redelivery from sending one.
            with contextlib.suppress(Exception):
                consensus_pending_clear(project_id=project_id)
            raise
