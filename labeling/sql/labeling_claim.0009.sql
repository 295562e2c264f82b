-- labeling_claim(): queue.lease_next() once it has drawn gold and blind: the caller's live
-- lease (the older first), else the best item for them locked with SKIP LOCKED and a lease on
-- it, its capacity counted again under the lock (the search's snapshot may predate another
-- annotator's lease: each statement of a VOLATILE function sees a fresh snapshot); a gold item
-- first when asked; an item found full once locked is passed over (p_attempts in all).
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
