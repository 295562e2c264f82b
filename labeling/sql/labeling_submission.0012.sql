-- labeling_submission(): queue.annotation_submit() once the label is clean: the item locked,
-- the rules (already labeled, no more labels needed), the annotation, its lease, the item's
-- count and completion, and the usage (billing_usage_annotation()). Outcomes: 'ok', 'gone'
-- (no such item), 'labeled', 'full', 'no_annotator' (p_annotator NULL and the caller has no
-- annotator identity yet: make it and call again); anything but 'ok' wrote nothing. With
-- p_annotator NULL the caller's annotator is looked up here, saving the request a round trip.
-- A completion also writes its outbox message (core_outbox, topic labeling.items_completed),
-- in this statement's transaction: what follows a completion (consensus, the model's
-- retraining count) is recorded with it, and delivered once committed (core/outbox.py).
CREATE OR REPLACE FUNCTION labeling_submission(
    p_item bigint, p_user integer, p_annotator bigint, p_label jsonb, p_duration_ms integer,
    p_now timestamptz, p_day date, p_prelabels boolean,
    OUT outcome text, OUT annotation_id bigint, OUT item_status text, OUT item_done integer,
    OUT completes boolean, OUT prelabel_shown boolean, OUT gold_correct boolean,
    OUT organization_id bigint, OUT project_id bigint, OUT annotator_id bigint,
    OUT outbox_id bigint
) LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    v record;
    v_id bigint;
    v_completes boolean;
    v_shown boolean;
    v_correct boolean;
BEGIN
    IF p_annotator IS NULL THEN
        SELECT a.id INTO p_annotator FROM labeling_annotator a WHERE a.user_id = p_user;
        IF NOT FOUND THEN
            outcome := 'no_annotator';
            RETURN;
        END IF;
    END IF;
    annotator_id := p_annotator;
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
    -- a gold answer: two lists compare as multisets, anything else as values
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
    IF v_completes THEN
        INSERT INTO core_outbox (topic, payload)
        VALUES ('labeling.items_completed',
                jsonb_build_object('organization_id', v.organization_id,
                                   'project_id', v.project_id,
                                   'item_ids', jsonb_build_array(p_item)))
        RETURNING core_outbox.id INTO outbox_id;
    END IF;
    outcome := 'ok';
    annotation_id := v_id;
    item_status := CASE WHEN v_completes THEN 'complete' ELSE v.status END;
    item_done := v.done + 1;
    completes := v_completes;
    prelabel_shown := v_shown;
    gold_correct := v_correct;
END
$fn$;
