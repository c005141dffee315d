-- evident PostgreSQL schema, version 1 (applied by evident's migrator in one
-- transaction; see docs/postgres.md). Rows are only ever inserted: evident
-- never updates or deletes them, and a trigger refuses both to every role.

CREATE SCHEMA IF NOT EXISTS evident;

-- One row per record shipped (the genesis is seq 0). `body` holds the exact
-- bytes that were hashed and `hash` the stored hash, so the chain can be
-- checked from the database byte for byte; the other columns are decoded
-- from the body for querying (NUL characters replaced by U+FFFD there).
CREATE TABLE evident.records (
    log_id      text        NOT NULL,
    seq         bigint      NOT NULL CHECK (seq >= 0),
    kind        text        NOT NULL,
    body        bytea       NOT NULL,
    hash        bytea       NOT NULL,
    ts          timestamptz,
    event_type  text,
    action      text,
    actor       text,
    host        text,
    session_id  text,
    source      text,
    success     boolean,
    duration_ms double precision,
    details     jsonb,
    shipped_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (log_id, seq)
);

CREATE INDEX records_ts ON evident.records (ts);
CREATE INDEX records_source_ts ON evident.records (source, ts);
CREATE INDEX records_action_ts ON evident.records (action, ts);
CREATE INDEX records_host_ts ON evident.records (host, ts);
CREATE INDEX records_session_ts ON evident.records (session_id, ts);

-- Entries a shipper refused to insert: they do not link to the database's
-- head for their log (a fork, a rewritten or truncated local file).
CREATE TABLE evident.refusals (
    id          bigserial   PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    log_id      text        NOT NULL,
    seq         bigint      NOT NULL,
    local_hash  bytea,
    db_hash     bytea,
    origin      text,
    reason      text        NOT NULL
);

CREATE FUNCTION evident.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'evident: % on %.% refused: rows are append-only',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME;
END $$;

CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON evident.records
    FOR EACH ROW EXECUTE FUNCTION evident.refuse_change();
CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON evident.records
    FOR EACH STATEMENT EXECUTE FUNCTION evident.refuse_change();
CREATE TRIGGER refusals_append_only BEFORE UPDATE OR DELETE ON evident.refusals
    FOR EACH ROW EXECUTE FUNCTION evident.refuse_change();

-- Roles (cluster-wide, created once): grant them to login roles.
--   evident_shipper  reads heads, inserts records and refusals; nothing else
--   evident_reviewer reads everything; nothing else
-- Created when missing and the migrating role may create roles; a database
-- owner without CREATEROLE (a plain `POSTGRES_USER`) migrates all the same,
-- granting to the roles that exist (PostgreSQL checks the privilege before
-- whether the role exists, so CREATE ROLE is not even tried when it does).
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['evident_shipper', 'evident_reviewer'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION
                WHEN duplicate_object OR unique_violation THEN NULL;
                WHEN insufficient_privilege THEN
                    RAISE NOTICE 'evident: role % not created (no CREATEROLE); a role that may create roles can run this migration again', r;
            END;
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'evident_shipper') THEN
        GRANT USAGE ON SCHEMA evident TO evident_shipper;
        GRANT SELECT, INSERT ON evident.records, evident.refusals TO evident_shipper;
        GRANT USAGE ON SEQUENCE evident.refusals_id_seq TO evident_shipper;
        GRANT SELECT ON evident.schema_migrations TO evident_shipper;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'evident_reviewer') THEN
        GRANT USAGE ON SCHEMA evident TO evident_reviewer;
        GRANT SELECT ON evident.records, evident.refusals TO evident_reviewer;
        GRANT SELECT ON evident.schema_migrations TO evident_reviewer;
    END IF;
END $$;
