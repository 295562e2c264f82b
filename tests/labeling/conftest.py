"""Fixtures of the labeling tests."""

import pytest
from django.db import connection

from labeling import queue


@pytest.fixture(params=["statements", "orm"])
def queue_path(request, monkeypatch):
    """Run a test on both paths of the task queue: the hand-written statements (PostgreSQL)
    and the ORM's (SQLite, the demo), which this suite's PostgreSQL runs as well."""
    if request.param == "statements" and connection.vendor != "postgresql":
        pytest.skip("the queue's statements are PostgreSQL's")
    if request.param == "orm":
        monkeypatch.setattr(queue, "_statements", lambda: False)
    return request.param
