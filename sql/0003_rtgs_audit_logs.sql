-- evident PostgreSQL schema, version 3: RTGS Lab Tools' `audit_logs`, as a
-- read-only view (docs/postgres.md "Switching from RTGS Lab Tools").
--
-- RTGS kept its operations in a table `audit_logs` with the columns listed
-- in its documentation; dashboards and ad-hoc SQL written against it keep
-- working over the operations `evident.compat.rtgs` ships (event type
-- `tool_operation`), with `SET search_path = evident, public` or the name
-- `evident.audit_logs`. The view is created in the `evident` schema only:
-- a database that still holds RTGS's own `public.audit_logs` keeps it.
--
-- Each column follows the rule of `compat::rtgs_record` (the same values
-- `recent_logs` and `get_audit_logs` return):
-- * `id` is `<log_id>/<seq>`: unique over every shipped log (RTGS's was a
--   serial number of one table);
-- * `operation_id` is the recorded one, else the entry's seq;
-- * `git_commit_hash`, `error_message` and `note` are entry fields kept in
--   the row's exact bytes (`body`); a body holding a `\u0000` escape
--   (which jsonb refuses) leaves them NULL;
-- * `parameters` and `results` are `{}` when none were recorded;
-- * `success` is the recorded one, else "no error recorded" (NULL when
--   the body could not be read as jsonb).

CREATE VIEW evident.audit_logs AS
SELECT
    r.log_id || '/' || r.seq                                   AS id,
    r.ts                                                       AS "timestamp",
    coalesce(nullif(r.details ->> 'operation_id', ''), r.seq::text)
                                                               AS operation_id,
    r.source                                                   AS tool_name,
    r.action                                                   AS operation,
    r.actor                                                    AS user_name,
    r.details ->> 'git_branch'                                 AS git_branch,
    b.fields ->> 'git_commit'                                  AS git_commit_hash,
    coalesce(CASE jsonb_typeof(r.details -> 'parameters')
                 WHEN 'null' THEN NULL ELSE r.details -> 'parameters' END,
             '{}'::jsonb)                                      AS parameters,
    coalesce(CASE jsonb_typeof(r.details -> 'results')
                 WHEN 'null' THEN NULL ELSE r.details -> 'results' END,
             '{}'::jsonb)                                      AS results,
    coalesce(r.duration_ms, 0) / 1000.0                        AS duration_seconds,
    coalesce(r.success, CASE WHEN b.fields IS NOT NULL
                             THEN b.fields ->> 'error' IS NULL END) AS success,
    b.fields ->> 'error'                                       AS error_message,
    b.fields ->> 'note'                                        AS note,
    r.log_id,
    r.seq,
    r.host                                                     AS hostname
FROM evident.records r
CROSS JOIN LATERAL (
    SELECT CASE WHEN position('\u0000' IN t) = 0 THEN t::jsonb END AS fields
    FROM convert_from(r.body, 'UTF8') AS t
) b
WHERE r.kind = 'entry' AND r.event_type = 'tool_operation';

-- (to the reviewer role when it exists: see 0001)
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'evident_reviewer') THEN
        GRANT SELECT ON evident.audit_logs TO evident_reviewer;
    END IF;
END $$;
