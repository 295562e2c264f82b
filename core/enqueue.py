"""How services start background work: a task is named, not imported (tasks import services,
never the other way round), and is sent once the transaction that asked for it commits (at
once outside one). Each app's AppConfig.ready() imports its tasks, so every process knows
them by name."""

from __future__ import annotations

from celery import current_app
from django.db import transaction


def enqueue(
    name: str, *args, countdown: float | None = None, priority: int | None = None, **kwargs
) -> None:
    """Send task `name` with these arguments after the current transaction commits. A
    `priority` of 0 is served first, 9 last (the broker keeps a list per level)."""
    transaction.on_commit(
        lambda: send(name, *args, countdown=countdown, priority=priority, **kwargs)
    )


def send(name: str, *args, countdown: float | None = None, priority: int | None = None, **kwargs):
    """Send task `name` now (eagerly run, without a broker)."""
    return current_app.tasks[name].apply_async(args, kwargs, countdown=countdown, priority=priority)


def runs_in_process() -> bool:
    """Whether tasks run eagerly in the calling process (no broker: the demo, unit tests)."""
    return bool(current_app.conf.task_always_eager)
