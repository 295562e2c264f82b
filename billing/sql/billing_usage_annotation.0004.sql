-- billing_usage_annotation(): billing.services.usage_add() of one submitted annotation
-- (annotations=1, annotator_seconds=round(duration_ms / 1000), items_completed=0|1, user_id,
-- turnaround_seconds), so that labeling_submission() counts it in the same call. Kept equal to
-- the Python (tests/billing/test_usage_sql.py compares them):
-- - seconds are rounded half to even, as Python's round();
-- - a turnaround's bucket is billing.turnaround.bucket_of(): 0 under a second, else
--   floor(8 * log2(seconds)) + 1, at most 201 (in numeric: exact at powers of two);
-- - rows are written in usage_add()'s order (day, person, turnaround bucket), so two calls
--   never wait on each other in opposite orders.
CREATE OR REPLACE FUNCTION billing_usage_annotation(
    p_organization bigint, p_project bigint, p_day date, p_user integer,
    p_duration_ms integer, p_turnaround numeric
) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    v_seconds bigint := 0;
    v_completed bigint := (p_turnaround IS NOT NULL)::int;
    v_bucket integer;
BEGIN
    IF p_duration_ms IS NOT NULL THEN
        -- Python's round(): half to even
        v_seconds := CASE WHEN p_duration_ms % 1000 = 500
                          THEN p_duration_ms / 1000 + (p_duration_ms / 1000) % 2
                          ELSE round(p_duration_ms / 1000.0) END;
    END IF;
    -- Each row is updated where it exists (every call but the day's first: an upsert's
    -- speculative insert costs more), and upserted where it may not.
    UPDATE billing_dailyusage u SET
        annotations = u.annotations + 1,
        items_completed = u.items_completed + v_completed,
        annotator_seconds = u.annotator_seconds + v_seconds
    WHERE u.organization_id = p_organization AND u.project_id = p_project AND u.day = p_day;
    IF NOT FOUND THEN
        INSERT INTO billing_dailyusage AS u (organization_id, project_id, day, items_imported,
            annotations, items_completed, reviews, exported_items, annotator_seconds)
        VALUES (p_organization, p_project, p_day, 0, 1, v_completed, 0, 0, v_seconds)
        ON CONFLICT (organization_id, project_id, day) DO UPDATE SET
            annotations = u.annotations + 1,
            items_completed = u.items_completed + EXCLUDED.items_completed,
            annotator_seconds = u.annotator_seconds + EXCLUDED.annotator_seconds;
    END IF;
    UPDATE billing_persondailyusage u SET
        annotations = u.annotations + 1,
        annotator_seconds = u.annotator_seconds + v_seconds
    WHERE u.organization_id = p_organization AND u.project_id = p_project
      AND u.user_id = p_user AND u.day = p_day;
    IF NOT FOUND THEN
        INSERT INTO billing_persondailyusage AS u (organization_id, project_id, day, user_id,
            annotations, reviews, annotator_seconds)
        VALUES (p_organization, p_project, p_day, p_user, 1, 0, v_seconds)
        ON CONFLICT (organization_id, project_id, user_id, day) DO UPDATE SET
            annotations = u.annotations + 1,
            annotator_seconds = u.annotator_seconds + EXCLUDED.annotator_seconds;
    END IF;
    IF p_turnaround IS NOT NULL THEN
        v_bucket := CASE WHEN p_turnaround < 1 THEN 0
                         ELSE least(201, floor(8 * log(2, p_turnaround))::int + 1) END;
        UPDATE billing_turnaroundbucket b SET items = b.items + 1
        WHERE b.organization_id = p_organization AND b.project_id = p_project
          AND b.day = p_day AND b.bucket = v_bucket;
        IF NOT FOUND THEN
            INSERT INTO billing_turnaroundbucket AS b (organization_id, project_id, day, bucket,
                items)
            VALUES (p_organization, p_project, p_day, v_bucket, 1)
            ON CONFLICT (organization_id, project_id, day, bucket) DO UPDATE
                SET items = b.items + 1;
        END IF;
    END IF;
END
$fn$;
