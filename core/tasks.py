"""The periodic work of core, run by Celery beat (config/settings.py: CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from .outbox import outbox_sweep


@shared_task(name="core.outbox_deliver")
def outbox_deliver() -> dict:
    """Deliver what the outbox holds (work whose sending failed after its commit)."""
    return outbox_sweep()

