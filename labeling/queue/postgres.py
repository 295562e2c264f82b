"""The task queue's statements on PostgreSQL: a claim and a submission in a few round trips.

The services in labeling.queue decide; these statements read and write what the decisions need,
in as few round trips as the locking allows: a claim in two (the ORM's took five), a submission
in two (nine), on the busiest path of the platform, where building each ORM statement cost
0.3-1 ms of Python. The rules are the ORM path's, beside them in __init__.py (SQLite, the demo,
runs that one; the test suite runs both on PostgreSQL).
"""

from __future__ import annotations

import json
from datetime import datetime

from django.db import connection

from ..models import Annotation, Item, Lease

# A lease that still holds its item: handed out, not submitted, skipped or expired (_live()).
_LIVE = "l.annotation_id IS NULL AND NOT l.skipped AND l.expires_at > %(now)s"
_LIVE_ON_ITEM = f"(SELECT count(*) FROM labeling_lease l WHERE l.item_id = i.id AND {_LIVE})"

# The claim: the caller's live lease if there is one (the older first: after an undo two may be
# live), else the best item for them, locked; SKIP LOCKED passes over the items that concurrent
# claims hold. Candidates (_candidates()): never an item this person held or labeled before.
_CLAIM = """
WITH held AS (
    SELECT l.id, l.item_id, l.expires_at, l.blind, l.created_at FROM labeling_lease l
    WHERE l.organization_id = %(organization)s AND l.project_id = %(project)s
      AND l.user_id = %(user)s AND {live}
    ORDER BY l.created_at, l.id
    LIMIT 1
), pick AS (
    SELECT i.id FROM labeling_item i
    WHERE NOT EXISTS (SELECT 1 FROM held)
      AND i.organization_id = %(organization)s AND i.project_id = %(project)s AND {which}
      AND NOT EXISTS (
          SELECT 1 FROM labeling_lease l WHERE l.item_id = i.id AND l.user_id = %(user)s
      )
      AND NOT EXISTS (
          SELECT 1 FROM labeling_annotation a
          WHERE a.item_id = i.id
            AND a.annotator_id = (SELECT id FROM labeling_annotator WHERE user_id = %(user)s)
      )
    ORDER BY i.priority DESC, i.id
    LIMIT 1
    FOR UPDATE OF i SKIP LOCKED
)
SELECT held.id, held.item_id, held.expires_at, held.blind, held.created_at,
       i.data, i.prelabel, i.prelabel_confidence
FROM held JOIN labeling_item i ON i.id = held.item_id
UNION ALL
SELECT NULL, id, NULL, NULL, NULL, NULL, NULL, NULL FROM pick
"""
# An open item that needs more people than it has labels and live leases; `tried`: the ones
# this request found full once locked.
_CLAIM_OPEN = _CLAIM.format(
    live=_LIVE,
    which=f"i.status = 'open' AND i.id <> ALL(%(tried)s) AND i.done + {_LIVE_ON_ITEM} < i.needed",
)
# A gold item, whatever its status and overlap.
_CLAIM_GOLD = _CLAIM.format(live=_LIVE, which="i.gold_label IS NOT NULL")

# The lease on a locked item. In this statement's fresh snapshot every lease on the item is
# visible (a lease is made only under the item's lock, which we hold now), so its capacity is
# counted again: the claim's snapshot may predate another annotator's lease on it. Gold items
# are not counted. A lease of this person on the item (a concurrent request of theirs) makes
# no second one.
_LEASE = f"""
WITH item AS (
    SELECT i.id, i.organization_id, i.project_id, i.data, i.prelabel, i.prelabel_confidence
    FROM labeling_item i
    WHERE i.id = %(item)s
      AND (%(gold)s OR (i.status = 'open' AND i.done + {_LIVE_ON_ITEM} < i.needed))
), lease AS (
    INSERT INTO labeling_lease
        (organization_id, project_id, item_id, user_id, expires_at, blind, skipped, created_at)
    SELECT organization_id, project_id, id, %(user)s, %(expires)s,
           prelabel IS NOT NULL AND %(blind)s, false, %(now)s
    FROM item
    ON CONFLICT (item_id, user_id) DO NOTHING
    RETURNING id, item_id, expires_at, blind, created_at
)
SELECT lease.id, lease.item_id, lease.expires_at, lease.blind, lease.created_at,
       item.data, item.prelabel, item.prelabel_confidence
FROM lease JOIN item ON item.id = lease.item_id
"""


def _json(field: str, value):
    return Item._meta.get_field(field).from_db_value(value, None, connection)


def _lease(row, *, organization_id: int, project_id: int, user) -> Lease:
    """The Lease of a claim's row, with its item's task fields (the rest load on access).
    from_db() takes the values in the model's field order."""
    lease_id, item_id, expires_at, blind, created_at, data, prelabel, confidence = row
    item = Item.from_db(
        connection.alias,
        ["id", "organization_id", "project_id", "data", "prelabel", "prelabel_confidence"],
        [item_id, organization_id, project_id, _json("data", data), _json("prelabel", prelabel),
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


def claim(
    *, organization_id: int, project_id: int, user, now: datetime, gold: bool, tried: list[int]
) -> tuple[Lease | None, int | None]:
    """(the caller's live lease, None), or (None, the id of the item locked for them), or
    (None, None) when nothing is left."""
    params = {
        "organization": organization_id,
        "project": project_id,
        "user": user.pk,
        "now": now,
        "tried": tried,
    }
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_GOLD if gold else _CLAIM_OPEN, params)
        row = cursor.fetchone()
    if row is None:
        return None, None
    if row[0] is None:
        return None, row[1]
    return _lease(row, organization_id=organization_id, project_id=project_id, user=user), None


def lease_create(
    *,
    organization_id: int,
    project_id: int,
    item_id: int,
    user,
    now: datetime,
    expires: datetime,
    blind: bool,
    gold: bool,
) -> Lease | None:
    """The new lease on a locked item; None when it turned out full (or the caller has one)."""
    params = {
        "item": item_id,
        "user": user.pk,
        "now": now,
        "expires": expires,
        "blind": blind,
        "gold": gold,
    }
    with connection.cursor() as cursor:
        cursor.execute(_LEASE, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return _lease(row, organization_id=organization_id, project_id=project_id, user=user)


# --- submissions --------------------------------------------------------------------------

# Lock the item and read what the submission's rules need. The item's columns are its latest
# version (FOR UPDATE waits for a concurrent submission and returns the row it left); the
# caller's annotation and lease come from the snapshot before the wait, and only the caller's
# own requests change those: a concurrent retry of the same submission is caught by the
# unique index when the annotation is written (_RECORD).
_LOCK = f"""
SELECT i.status, i.done, i.needed, i.gold_label, i.prelabel IS NOT NULL, i.labeled_at IS NULL,
       an.id,
       EXISTS (
           SELECT 1 FROM labeling_annotation a
           WHERE a.item_id = i.id AND a.annotator_id = an.id AND NOT (a.source = 'review')
       ),
       l.id, l.blind, l.id IS NOT NULL AND {_LIVE}
FROM labeling_item i
LEFT JOIN labeling_annotator an ON an.user_id = %(user)s
LEFT JOIN labeling_lease l ON l.item_id = i.id AND l.user_id = %(user)s
WHERE i.id = %(item)s
FOR UPDATE OF i
"""

# The item's live leases, counted in a fresh snapshot while its lock is held.
_LIVE_COUNT = f"SELECT {_LIVE_ON_ITEM} FROM labeling_item i WHERE i.id = %(item)s"

# The annotation, the lease it fulfils and the item's count, all or nothing: a second row for
# the same person and item (a concurrent retry) writes nothing and returns no id.
_RECORD = """
WITH annotation AS (
    INSERT INTO labeling_annotation (organization_id, project_id, item_id, annotator_id, label,
        source, duration_ms, prelabel_shown, gold_correct, created_at)
    VALUES (%(organization)s, %(project)s, %(item)s, %(annotator)s, %(label)s::jsonb,
        %(source)s, %(duration_ms)s, %(prelabel_shown)s, %(gold_correct)s, %(now)s)
    ON CONFLICT (item_id, annotator_id) WHERE NOT (source = 'review') DO NOTHING
    RETURNING id
), lease AS (
    UPDATE labeling_lease SET annotation_id = annotation.id
    FROM annotation WHERE labeling_lease.id = %(lease)s
), item AS (
    UPDATE labeling_item SET done = done + 1,
        status = CASE WHEN %(completes)s THEN %(complete)s ELSE status END,
        completed_at = CASE WHEN %(completes)s THEN %(now)s ELSE completed_at END
    FROM annotation WHERE labeling_item.id = %(item)s
)
SELECT id FROM annotation
"""


def submission_lock(*, item_id: int, user, now: datetime) -> dict | None:
    """Lock the item; None when it is gone. The fields: status, done, needed, gold_label,
    has_prelabel, annotator_id (None before the person's first label), labeled (already, by
    this person), lease_id, lease_blind (their lease on the item, if any), holds (it is live),
    undecided (no final label was ever set: its completion is a first one)."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK, {"item": item_id, "user": user.pk, "now": now})
        row = cursor.fetchone()
    if row is None:
        return None
    names = ("status", "done", "needed", "gold_label", "has_prelabel", "undecided", "annotator_id")
    state = dict(zip(names, row[:7], strict=True))
    state["gold_label"] = _json("gold_label", state["gold_label"])
    state.update(labeled=row[7], lease_id=row[8], lease_blind=row[9], holds=bool(row[10]))
    return state


def live_leases(*, item_id: int, now: datetime) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_LIVE_COUNT, {"item": item_id, "now": now})
        return cursor.fetchone()[0]


def submission_record(
    *, annotation: Annotation, lease_id: int | None, completes: bool, complete_status: str
) -> int | None:
    """Write the (unsaved) annotation, attach it to the lease, count it on the item (which
    completes with it or not); the new annotation's id, or None when this person's annotation
    of the item exists already."""
    params = {
        "organization": annotation.organization_id,
        "project": annotation.project_id,
        "item": annotation.item_id,
        "annotator": annotation.annotator_id,
        "label": json.dumps(annotation.label),
        "source": annotation.source,
        "duration_ms": annotation.duration_ms,
        "prelabel_shown": annotation.prelabel_shown,
        "gold_correct": annotation.gold_correct,
        "now": annotation.created_at,
        "lease": lease_id,
        "completes": completes,
        "complete": complete_status,
    }
    with connection.cursor() as cursor:
        cursor.execute(_RECORD, params)
        row = cursor.fetchone()
    return row[0] if row else None
