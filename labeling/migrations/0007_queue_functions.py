"""The task queue's claim and submission as server-side functions (PostgreSQL).

A claim or a submission is then one round trip, and the fast path (labeling/fastpath.py) is one
statement per request, in autocommit: no BEGIN, no COMMIT, no statement of its own for the
token. Each statement inside a function sees a fresh snapshot (READ COMMITTED, VOLATILE
functions), which the claim's second look at a locked item relies on.

- labeling_claim(): queue.lease_next() after its decisions: the caller's live lease (the older
  first), else the best item for them locked with SKIP LOCKED and a lease on it, its capacity
  counted again under the lock (the search's snapshot may predate another annotator's lease);
  a gold item first when asked; an item found full once locked is passed over (p_attempts
  in all, as CLAIM_ATTEMPTS).
- labeling_submission(): queue.annotation_submit() after the label's validation: the item
  locked, the rules (already labeled, no more labels needed), the annotation, its lease, the
  item's count and completion, and the usage (billing_usage_annotation, billing 0003).
  Outcomes: 'ok', 'gone' (no such item), 'labeled', 'full'; anything but 'ok' wrote nothing.
- labeling_next() and labeling_submit(): the same with the caller read from their token, when
  the token's person is of the workforce (not a superuser, active), a member as annotator or
  QA lead and assigned to the project as an annotator (a sufficient condition for what
  tenancy's project_read() and user_may_annotate() allow), and, for a submission, the label is
  plainly in the set. No row (labeling_next) or
  outcome 'pass': not so, nothing written, the full stack decides and words the answer.
"""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION labeling_claim(
    p_organization bigint, p_project bigint, p_user integer, p_now timestamptz,
    p_expires timestamptz, p_gold boolean, p_blind boolean, p_attempts integer
) RETURNS TABLE (
    lease_id bigint, item_id bigint, expires_at timestamptz, blind boolean,
    created_at timestamptz, data jsonb, prelabel jsonb, prelabel_confidence double precision
) LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    v_annotator bigint;
    v_item bigint;
    v_tried bigint[] := '{}';
    v_gold boolean;
BEGIN
    RETURN QUERY
    SELECT l.id, l.item_id, l.expires_at, l.blind, l.created_at,
           i.data, i.prelabel, i.prelabel_confidence
    FROM labeling_lease l JOIN labeling_item i ON i.id = l.item_id
    WHERE l.organization_id = p_organization AND l.project_id = p_project
      AND l.user_id = p_user AND l.annotation_id IS NULL AND NOT l.skipped
      AND l.expires_at > p_now
    ORDER BY l.created_at, l.id
    LIMIT 1;
    IF FOUND THEN
        RETURN;
    END IF;
    SELECT a.id INTO v_annotator FROM labeling_annotator a WHERE a.user_id = p_user;
    FOR attempt IN 0 .. p_attempts - 1 + p_gold::int LOOP
        v_gold := p_gold AND attempt = 0;
        v_item := NULL;
        IF v_gold THEN
            SELECT i.id INTO v_item FROM labeling_item i
            WHERE i.organization_id = p_organization AND i.project_id = p_project
              AND i.gold_label IS NOT NULL
              AND NOT EXISTS (
                  SELECT 1 FROM labeling_lease l WHERE l.item_id = i.id AND l.user_id = p_user)
              AND NOT EXISTS (
                  SELECT 1 FROM labeling_annotation a
                  WHERE a.item_id = i.id AND a.annotator_id = v_annotator)
            ORDER BY i.priority DESC, i.id
            LIMIT 1
            FOR UPDATE OF i SKIP LOCKED;
            CONTINUE WHEN v_item IS NULL;
        ELSE
            SELECT i.id INTO v_item FROM labeling_item i
            WHERE i.organization_id = p_organization AND i.project_id = p_project
              AND i.status = 'open' AND i.id <> ALL (v_tried)
              AND i.done + (
                  SELECT count(*) FROM labeling_lease l
                  WHERE l.item_id = i.id AND l.annotation_id IS NULL AND NOT l.skipped
                    AND l.expires_at > p_now) < i.needed
              AND NOT EXISTS (
                  SELECT 1 FROM labeling_lease l WHERE l.item_id = i.id AND l.user_id = p_user)
              AND NOT EXISTS (
                  SELECT 1 FROM labeling_annotation a
                  WHERE a.item_id = i.id AND a.annotator_id = v_annotator)
            ORDER BY i.priority DESC, i.id
            LIMIT 1
            FOR UPDATE OF i SKIP LOCKED;
            IF v_item IS NULL THEN
                RETURN;
            END IF;
        END IF;
        RETURN QUERY
        WITH item AS (
            SELECT i.id, i.organization_id, i.project_id, i.data, i.prelabel,
                   i.prelabel_confidence
            FROM labeling_item i
            WHERE i.id = v_item
              AND (v_gold OR (i.status = 'open' AND i.done + (
                  SELECT count(*) FROM labeling_lease l
                  WHERE l.item_id = i.id AND l.annotation_id IS NULL AND NOT l.skipped
                    AND l.expires_at > p_now) < i.needed))
        ), lease AS (
            INSERT INTO labeling_lease (organization_id, project_id, item_id, user_id,
                expires_at, blind, skipped, created_at)
            SELECT item.organization_id, item.project_id, item.id, p_user, p_expires,
                   item.prelabel IS NOT NULL AND p_blind, false, p_now
            FROM item
            ON CONFLICT (item_id, user_id) DO NOTHING
            RETURNING labeling_lease.id, labeling_lease.item_id, labeling_lease.expires_at,
                      labeling_lease.blind, labeling_lease.created_at
        )
        SELECT lease.id, lease.item_id, lease.expires_at, lease.blind, lease.created_at,
               item.data, item.prelabel, item.prelabel_confidence
        FROM lease JOIN item ON item.id = lease.item_id;
        IF FOUND THEN
            RETURN;
        END IF;
        v_tried := v_tried || v_item;
    END LOOP;
END
$fn$;

CREATE OR REPLACE FUNCTION labeling_submission(
    p_item bigint, p_user integer, p_annotator bigint, p_label jsonb, p_duration_ms integer,
    p_now timestamptz, p_day date, p_prelabels boolean,
    OUT outcome text, OUT annotation_id bigint, OUT item_status text, OUT item_done integer,
    OUT completes boolean, OUT prelabel_shown boolean, OUT gold_correct boolean,
    OUT organization_id bigint, OUT project_id bigint
) LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    v record;
    v_id bigint;
    v_completes boolean;
    v_shown boolean;
    v_correct boolean;
BEGIN
    -- The item's columns are its latest version (FOR UPDATE waits for a concurrent submission
    -- and returns the row it left); the caller's annotation and lease come from the snapshot
    -- before the wait, and only the caller's own requests change those: a concurrent retry of
    -- the same submission is caught by the unique index when the annotation is written.
    SELECT i.organization_id, i.project_id, i.status, i.done, i.needed, i.gold_label,
           i.prelabel IS NOT NULL AS has_prelabel, i.labeled_at IS NULL AS undecided,
           i.created_at,
           EXISTS (
               SELECT 1 FROM labeling_annotation a
               WHERE a.item_id = i.id AND a.annotator_id = p_annotator
                 AND NOT (a.source = 'review')
           ) AS labeled,
           l.id AS lease_id, coalesce(l.blind, false) AS lease_blind,
           coalesce(l.annotation_id IS NULL AND NOT l.skipped AND l.expires_at > p_now, false)
               AS holds
    INTO v
    FROM labeling_item i
    LEFT JOIN labeling_lease l ON l.item_id = i.id AND l.user_id = p_user
    WHERE i.id = p_item
    FOR UPDATE OF i;
    IF NOT FOUND THEN
        outcome := 'gone';
        RETURN;
    END IF;
    organization_id := v.organization_id;
    project_id := v.project_id;
    item_status := v.status;
    item_done := v.done;
    IF v.labeled THEN
        outcome := 'labeled';
        RETURN;
    END IF;
    -- Without a live lease (or on a gold item) the item must still need a person: its live
    -- leases counted in a fresh snapshot, under the lock.
    IF NOT v.holds AND v.gold_label IS NULL AND (v.status <> 'open' OR v.done + (
        SELECT count(*) FROM labeling_lease l
        WHERE l.item_id = p_item AND l.annotation_id IS NULL AND NOT l.skipped
          AND l.expires_at > p_now) >= v.needed)
    THEN
        outcome := 'full';
        RETURN;
    END IF;
    v_completes := v.status = 'open' AND v.done + 1 >= v.needed;
    -- queue._shown(): None without a pre-label; shown unless the project hides them or the
    -- caller's live lease was served blind
    v_shown := CASE WHEN v.has_prelabel THEN p_prelabels AND NOT (v.holds AND v.lease_blind) END;
    -- queue._gold_match(): two lists compare as multisets, anything else as values
    IF v.gold_label IS NOT NULL THEN
        IF jsonb_typeof(v.gold_label) = 'array' AND jsonb_typeof(p_label) = 'array' THEN
            v_correct := (SELECT coalesce(jsonb_agg(e ORDER BY e), '[]')
                          FROM jsonb_array_elements(v.gold_label) e)
                       = (SELECT coalesce(jsonb_agg(e ORDER BY e), '[]')
                          FROM jsonb_array_elements(p_label) e);
        ELSE
            v_correct := v.gold_label = p_label;
        END IF;
    END IF;
    INSERT INTO labeling_annotation (organization_id, project_id, item_id, annotator_id, label,
        source, duration_ms, prelabel_shown, gold_correct, created_at)
    VALUES (v.organization_id, v.project_id, p_item, p_annotator, p_label, 'human',
        p_duration_ms, v_shown, v_correct, p_now)
    ON CONFLICT (item_id, annotator_id) WHERE NOT (source = 'review') DO NOTHING
    RETURNING labeling_annotation.id INTO v_id;
    IF v_id IS NULL THEN  -- a concurrent retry of this submission wrote it first
        outcome := 'labeled';
        RETURN;
    END IF;
    IF v.holds THEN
        UPDATE labeling_lease SET annotation_id = v_id WHERE labeling_lease.id = v.lease_id;
    END IF;
    UPDATE labeling_item SET done = labeling_item.done + 1,
        status = CASE WHEN v_completes THEN 'complete' ELSE labeling_item.status END,
        completed_at = CASE WHEN v_completes THEN p_now ELSE labeling_item.completed_at END
    WHERE labeling_item.id = p_item;
    -- Last: every submission of the project adds to the same row of the day and holds its lock
    -- to the commit. Only a first completion counts (an item whose final label was never set):
    -- one completed again after consensus asked one more person, or after an audit's rework,
    -- was counted the first time.
    PERFORM billing_usage_annotation(v.organization_id, v.project_id, p_day, p_user,
        p_duration_ms,
        CASE WHEN v_completes AND v.undecided
             THEN extract(epoch FROM p_now - v.created_at) END);
    outcome := 'ok';
    annotation_id := v_id;
    item_status := CASE WHEN v_completes THEN 'complete' ELSE v.status END;
    item_done := v.done + 1;
    completes := v_completes;
    prelabel_shown := v_shown;
    gold_correct := v_correct;
END
$fn$;

CREATE OR REPLACE FUNCTION labeling_next(
    p_key text, p_project bigint, p_now timestamptz, p_gold_draw double precision,
    p_blind_draw double precision, p_attempts integer
) RETURNS TABLE (
    user_id integer, shown boolean, lease_id bigint, item_id bigint, expires_at timestamptz,
    data jsonb, prelabel jsonb, prelabel_confidence double precision
) LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    v record;
BEGIN
    SELECT u.id AS user_id, p.organization_id, p.gold_rate, p.prelabels, p.blind_share,
           p.lease_minutes
    INTO v
    FROM authtoken_token t
    JOIN auth_user u ON u.id = t.user_id
    JOIN tenancy_membership m ON m.user_id = u.id
    JOIN tenancy_project p ON p.id = p_project
    WHERE t.key = p_key AND u.is_active AND NOT u.is_superuser
      AND m.role IN ('annotator', 'qa_lead')
      AND EXISTS (
          SELECT 1 FROM tenancy_projectassignment a
          WHERE a.project_id = p.id AND a.user_id = u.id AND a.role = 'annotator'
      );
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT v.user_id, c.prelabel IS NOT NULL AND v.prelabels AND NOT c.blind,
           c.lease_id, c.item_id, c.expires_at, c.data, c.prelabel, c.prelabel_confidence
    FROM (SELECT 1) one
    LEFT JOIN labeling_claim(
        v.organization_id, p_project, v.user_id, p_now,
        p_now + make_interval(mins => v.lease_minutes),
        v.gold_rate > 0 AND p_gold_draw < v.gold_rate,
        v.prelabels AND p_blind_draw < v.blind_share,
        p_attempts
    ) c ON true;
END
$fn$;

CREATE OR REPLACE FUNCTION labeling_submit(
    p_key text, p_item bigint, p_label jsonb, p_duration_ms integer, p_now timestamptz,
    p_day date,
    OUT outcome text, OUT annotation_id bigint, OUT item_status text, OUT completes boolean,
    OUT organization_id bigint, OUT project_id bigint
) LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    v record;
    v_label jsonb;
    r record;
BEGIN
    outcome := 'pass';
    SELECT u.id AS user_id, an.id AS annotator_id, p.task_type, p.labels, p.prelabels
    INTO v
    FROM authtoken_token t
    JOIN auth_user u ON u.id = t.user_id
    JOIN tenancy_membership m ON m.user_id = u.id
    JOIN labeling_item i ON i.id = p_item
    JOIN tenancy_project p ON p.id = i.project_id
    LEFT JOIN labeling_annotator an ON an.user_id = u.id
    WHERE t.key = p_key AND u.is_active AND NOT u.is_superuser
      AND m.role IN ('annotator', 'qa_lead')
      AND EXISTS (
          SELECT 1 FROM tenancy_projectassignment a
          WHERE a.project_id = p.id AND a.user_id = u.id AND a.role = 'annotator'
      );
    -- (before their first label a person has no annotator identity: the full stack makes it)
    IF NOT FOUND OR v.annotator_id IS NULL THEN
        RETURN;
    END IF;
    -- The label as RowValidator.label() stores it, when it takes it as it is; anything else is
    -- the full stack's to refuse in its own words.
    IF v.task_type = 'multilabel' THEN
        IF jsonb_typeof(p_label) <> 'array'
           OR EXISTS (
               SELECT 1 FROM jsonb_array_elements(p_label) e
               WHERE jsonb_typeof(e) <> 'string' OR NOT v.labels @> jsonb_build_array(e))
           OR (SELECT count(DISTINCT e) FROM jsonb_array_elements(p_label) e)
              <> jsonb_array_length(p_label)
        THEN
            RETURN;
        END IF;
        v_label := (SELECT coalesce(jsonb_agg(e ORDER BY e #>> '{}' COLLATE "C"), '[]')
                    FROM jsonb_array_elements(p_label) e);  -- Python's sorted(): code points
    ELSIF jsonb_typeof(p_label) = 'string' AND v.labels @> jsonb_build_array(p_label) THEN
        v_label := p_label;
    ELSE
        RETURN;
    END IF;
    SELECT * INTO r FROM labeling_submission(p_item, v.user_id, v.annotator_id, v_label,
        p_duration_ms, p_now, p_day, v.prelabels);
    IF r.outcome <> 'ok' THEN
        RETURN;
    END IF;
    outcome := 'ok';
    annotation_id := r.annotation_id;
    item_status := r.item_status;
    completes := r.completes;
    organization_id := r.organization_id;
    project_id := r.project_id;
END
$fn$;
"""
DROP = """
DROP FUNCTION IF EXISTS labeling_submit(text, bigint, jsonb, integer, timestamptz, date);
DROP FUNCTION IF EXISTS labeling_next(text, bigint, timestamptz, double precision,
    double precision, integer);
DROP FUNCTION IF EXISTS labeling_submission(bigint, integer, bigint, jsonb, integer,
    timestamptz, date, boolean);
DROP FUNCTION IF EXISTS labeling_claim(bigint, bigint, integer, timestamptz, timestamptz,
    boolean, boolean, integer);
"""


def postgresql_only(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # no placeholders: % would be one

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0006_item_consensus_pending"),
        ("billing", "0003_usage_annotation_function"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    operations = [migrations.RunPython(postgresql_only(CREATE), postgresql_only(DROP))]
