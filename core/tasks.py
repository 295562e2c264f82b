"""The periodic work of core, run by Celery beat (config/settings.py: CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from .idempotency import idempotency_keys_purge
from .outbox import outbox_sweep


@shared_task(name="core.outbox_deliver")
def outbox_deliver() -> dict:
    """Deliver what the outbox holds (work whose sending failed after its commit)."""
    return outbox_sweep()


@shared_task(name="core.idempotency_keys_purge")
def idempotency_purge() -> int:
    """Forget the answers kept for retries once they are older than LQA_IDEMPOTENCY_HOURS."""
    return idempotency_keys_purge()
