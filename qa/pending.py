"""Which projects have consensus pending: one Redis key per project, on the broker's Redis.

With a broker, a completion does not enqueue consensus for its item: it marks the project
(`SET NX`, one round trip) and only the completion that set the mark enqueues a sweep of the
project (qa.consensus_sweep), which clears the mark before its last look for pending items.
Without a Redis broker (the demo, eager tasks) there is nothing to mark: every mark "succeeds"
and clearing does nothing."""

from __future__ import annotations

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

# Seconds a mark lives when no sweep clears it (a sweep lost with its worker, or one still
# waiting in a long queue): afterwards the next completion enqueues a sweep again. A sweep
# renews the mark while it runs, so that a long one (an import's backlog) is not joined by a
# second sweep of the same project. Too short costs only duplicate sweeps (they are idempotent).
PENDING_TTL = 600

_client: redis.Redis | None = None


def _redis() -> redis.Redis | None:
    global _client
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    if _client is None:
        # One connection pool per process, made on first use (after a fork, not before it).
        # One retry at once (a pooled connection that a Redis restart closed), no backoff: a
        # Redis that is down fails a completion's delivery quickly, and the outbox keeps it.
        _client = redis.Redis.from_url(
            url, socket_timeout=5, socket_connect_timeout=2, retry=Retry(NoBackoff(), 1)
        )
    return _client


def _key(project_id: int) -> str:
    return f"lqa:consensus:{project_id}"


def consensus_pending_mark(*, project_id: int) -> bool:
    """Mark the project as having items waiting for consensus. True when this call set the
    mark (the caller enqueues the sweep), False when it was set already (a sweep is due)."""
    client = _redis()
    if client is None:
        return True
    return bool(client.set(_key(project_id), 1, nx=True, ex=PENDING_TTL))


def consensus_pending_renew(*, project_id: int) -> None:
    """A running sweep keeps its project's mark alive (nothing when there is none)."""
    client = _redis()
    if client is not None:
        client.expire(_key(project_id), PENDING_TTL)


def consensus_pending_clear(*, project_id: int) -> None:
    """Clear the mark: the next completion marks the project anew and enqueues a sweep."""
    client = _redis()
    if client is not None:
        client.delete(_key(project_id))
