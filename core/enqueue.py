"""How services start background work: a task is named, not imported (tasks import services,
never the other way round), and is sent once the transaction that asked for it commits (at
once outside one). Each app's AppConfig.ready() imports its tasks, so every process knows
them by name.

With a broker the task goes through the outbox (core/outbox.py): written in the caller's
transaction, sent after the commit, and sent by the outbox's sweep if the broker could not
take it then, so a commit never answers an error because of the broker. Without one (the
demo, unit tests) the task runs in process at the commit, as the broker would have run it."""

from __future__ import annotations

from celery import current_app
from django.db import transaction

from .outbox import outbox_add, outbox_deliver_on_commit, outbox_handler_register

# The outbox topic of a task to send: {name, args, kwargs, countdown}.
TASK = "core.task"


def enqueue(
    name: str, *args, countdown: float | None = None, priority: int | None = None, **kwargs
) -> None:
    """Send task `name` with these arguments after the current transaction commits. A
    `priority` of 0 is served first, 9 last (the broker keeps a list per level)."""
    if runs_in_process():
        transaction.on_commit(
            lambda: send(name, *args, countdown=countdown, priority=priority, **kwargs)
        )
        return
    message = outbox_add(
        topic=TASK, payload={"name": name, "args": list(args), "kwargs": kwargs,
                             "countdown": countdown, "priority": priority},
    )  # fmt: skip
    outbox_deliver_on_commit(message)


def send(name: str, *args, countdown: float | None = None, priority: int | None = None, **kwargs):
    """Send task `name` now (eagerly run, without a broker). Nobody reads these tasks'
    results, so none is kept: sending then needs the broker only (waiting on the result
    backend's Redis retries for about 20 s when it is down)."""
    return current_app.tasks[name].apply_async(
        args, kwargs, countdown=countdown, priority=priority, ignore_result=True
    )


def runs_in_process() -> bool:
    """Whether tasks run eagerly in the calling process (no broker: the demo, unit tests)."""
    return bool(current_app.conf.task_always_eager)


def _send_message(payload: dict) -> None:
    send(
        payload["name"],
        *payload["args"],
        countdown=payload["countdown"],
        priority=payload.get("priority"),
        **payload["kwargs"],
    )


outbox_handler_register(TASK, _send_message)
