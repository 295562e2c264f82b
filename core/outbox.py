"""The outbox: what must follow a commit is written in the same transaction as the write.

A message (a task to send, an event for other apps) is a row of core_outbox, written in the
transaction of the work it follows and deleted in the transaction that delivers it. Delivery
is tried right after the commit (`outbox_deliver`); a failure, such as a broker that is down,
is logged and leaves the row, which the periodic sweep (`outbox_sweep`, the Celery beat task
core.outbox_deliver) delivers once it can. A handler's database writes commit together with
the row's deletion, so they happen once; what it sends to the broker may go twice (a delivery
that sent and then failed to commit), which every task and receiver tolerates: they are
idempotent. Apps register a handler per topic in their AppConfig.ready()."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import Error, connection, transaction

from .models import OutboxMessage
from .unavailable import service_of

logger = logging.getLogger(__name__)

_TABLE = OutboxMessage._meta.db_table
# Raw rows hold the jsonb's text (Django's postgres backend): the field decodes it.
_PAYLOAD = OutboxMessage._meta.get_field("payload")
# One message, unless someone else is delivering it (SKIP LOCKED: no wait behind them).
_TAKE = f"""
DELETE FROM {_TABLE} WHERE id = (
    SELECT id FROM {_TABLE} WHERE id = %s FOR UPDATE SKIP LOCKED
) RETURNING id, topic, payload
"""
# The oldest message that is due.
_TAKE_DUE = f"""
DELETE FROM {_TABLE} WHERE id = (
    SELECT id FROM {_TABLE} WHERE available_at <= statement_timestamp()
    ORDER BY available_at, id LIMIT 1 FOR UPDATE SKIP LOCKED
) RETURNING id, topic, payload
"""
# A failed delivery: counted; a message that failed for another reason than an unavailable
# service waits longer each time (2, 4, 8 ... seconds, at most BACKOFF_MAX), so that one bad
# message does not take every sweep's time.
_FAILED = f"""
UPDATE {_TABLE} SET attempts = attempts + 1, last_error = %s,
    available_at = CASE WHEN %s THEN available_at
                   ELSE statement_timestamp()
                        + least(power(2, attempts + 1), %s) * interval '1 second' END
WHERE id = %s
"""
BACKOFF_MAX = 3600
# A sweep delivers for at most this long, then leaves the rest to the next one.
SWEEP_SECONDS = 20

Handler = Callable[[dict], None]
_handlers: dict[str, Handler] = {}


def outbox_handler_register(topic: str, handler: Handler) -> None:
    """Deliver the messages of `topic` with `handler(payload)`; it raises when it could not."""
    _handlers[topic] = handler


def outbox_add(*, topic: str, payload: dict) -> int:
    """Write a message in the caller's transaction; its id (to deliver once committed)."""
    if topic not in _handlers:
        raise LookupError(f"no outbox handler for {topic!r}")
    return OutboxMessage.objects.create(topic=topic, payload=payload).pk


def outbox_deliver_on_commit(message_id: int) -> None:
    """Deliver the message once the caller's transaction commits (at once outside one)."""
    transaction.on_commit(lambda: outbox_deliver(message_ids=[message_id]))


def outbox_deliver(*, message_ids: list[int]) -> int:
    """Deliver these messages now, each in a transaction of its own, and return how many were
    delivered. Never raises: it runs after a commit whose answer must stand, so a failure is
    logged and the message waits for the sweep."""
    delivered = 0
    for message_id in message_ids:
        outcome = _deliver_one(_TAKE, [message_id])
        delivered += outcome == "delivered"
        if outcome == "unavailable":
            break
    return delivered


def outbox_sweep(*, seconds: float = SWEEP_SECONDS) -> dict[str, int]:
    """Deliver the due messages, oldest first, until none is left, a service is unavailable
    (the rest waits for the next sweep) or `seconds` are up. Counts per outcome."""
    deadline = time.monotonic() + seconds
    counts = {"delivered": 0, "failed": 0}
    while time.monotonic() < deadline:
        outcome = _deliver_one(_TAKE_DUE, [])
        if outcome in (None, "unavailable"):
            break
        counts["delivered" if outcome == "delivered" else "failed"] += 1
    if counts["delivered"] or counts["failed"]:
        logger.info("outbox_swept", extra=counts)
    return counts


def _deliver_one(statement: str, params: list) -> str | None:
    """'delivered', 'failed' (counted on the message), 'unavailable' (the database or the
    broker: stop), or None when there was nothing to take."""
    message = None
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement, params)
                message = cursor.fetchone()
            if message is None:
                return None
            _handlers[message[1]](_PAYLOAD.from_db_value(message[2], None, connection))
        return "delivered"
    except Exception as exc:  # a delivery never fails its caller: the message stays
        unavailable = service_of(exc) is not None
        logger.warning(
            "outbox_delivery_failed",
            extra={
                "message_id": message[0] if message else params[:1],
                "topic": message[1] if message else None,
                "error": repr(exc)[:300],
            },
        )
        if message is not None:
            _count_failure(message[0], exc, unavailable=unavailable)
        return "unavailable" if unavailable or message is None else "failed"


def _count_failure(message_id: int, exc: Exception, *, unavailable: bool) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(_FAILED, [repr(exc)[:2000], unavailable, BACKOFF_MAX, message_id])
    except Error:  # the database is what failed: the row stays as it was
        logger.warning("outbox_failure_not_counted", extra={"message_id": message_id})
