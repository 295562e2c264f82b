"""The task queue's calls: a claim and a submission are each one server-side call.

labeling_claim() and labeling_submission() (labeling/sql/) do what lease_next() and
annotation_submit() decide, once the caller is known and the label is clean.
"""

from __future__ import annotations

import datetime
from typing import NamedTuple

import orjson
from django.db import connection

from ..models import Item, Lease

_CLAIM = "SELECT * FROM labeling_claim(%s, %s, %s, %s, %s, %s, %s, %s)"
_SUBMISSION = "SELECT * FROM labeling_submission(%s, %s, %s, %s::jsonb, %s, %s, %s, %s)"


def json_loaded(value):
    """A jsonb column as the models hold it (Django's postgres backend hands over its text)."""
    if value is None:
        return None
    return Item._meta.get_field("data").from_db_value(value, None, connection)


def _lease(row, *, organization_id: int, project_id: int, user) -> Lease:
    """The Lease of a claim's row, with its item's task fields (the rest load on access).
    from_db() takes the values in the model's field order."""
    lease_id, item_id, expires_at, blind, created_at, data, prelabel, confidence = row
    item = Item.from_db(
        connection.alias,
        ["id", "organization_id", "project_id", "data", "prelabel", "prelabel_confidence"],
        [item_id, organization_id, project_id, json_loaded(data), json_loaded(prelabel),
         confidence],
    )  # fmt: skip
    lease = Lease.from_db(
        connection.alias,
        ["id", "organization_id", "project_id", "item_id", "user_id", "expires_at", "blind",
         "skipped", "annotation_id", "created_at"],
        [lease_id, organization_id, project_id, item_id, user.pk, expires_at, blind, False, None,
         created_at],
    )  # fmt: skip
    lease.item, lease.user = item, user
    return lease


def lease_claim(
    *,
    organization_id: int,
    project_id: int,
    user,
    now: datetime.datetime,
    expires: datetime.datetime,
    gold: bool,
    blind: bool,
    attempts: int,
) -> Lease | None:
    """The caller's live lease, or a new one on the best item for them; None when nothing is
    left for this person."""
    params = [organization_id, project_id, user.pk, now, expires, gold, blind, attempts]
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return _lease(row, organization_id=organization_id, project_id=project_id, user=user)


class Submission(NamedTuple):
    outcome: str  # 'ok'; or 'gone', 'labeled', 'full', and nothing was written
    annotation_id: int | None
    item_status: str | None
    item_done: int | None
    completes: bool | None
    prelabel_shown: bool | None
    gold_correct: bool | None
    organization_id: int | None
    project_id: int | None
    annotator_id: int | None
    outbox_id: int | None  # a completion's message (labeling.items_completed), to deliver


def submission(
    *,
    item_id: int,
    user,
    annotator_id: int | None,
    label,
    duration_ms: int | None,
    now: datetime.datetime,
    day: datetime.date,
    prelabels: bool,
) -> Submission:
    """Record a clean label: the annotation, its lease, the item's count and completion (with
    its outbox message), and the usage, or nothing (the outcome says why). Without
    `annotator_id` the function finds the caller's ('no_annotator' when they have none yet)."""
    params = [item_id, user.pk, annotator_id, orjson.dumps(label).decode(), duration_ms, now, day,
              prelabels]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_SUBMISSION, params)
        return Submission(*cursor.fetchone())

