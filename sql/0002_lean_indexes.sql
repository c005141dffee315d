-- evident PostgreSQL schema, version 2: cheaper index maintenance for
-- shipping (docs/postgres.md, docs/benchmarks.md).
--
-- * The text columns compare bytes (COLLATE "C"): keys are ids, names and
--   hex, never sorted for people, and a locale's collation made every
--   index comparison a strcoll call (on a C.UTF-8 database the server
--   spent 17-20 instead of 25-26 us per shipped record with the five
--   indexes of version 1). Equality filters mean the same in either.
--   PostgreSQL changes a column's collation without rewriting the table;
--   the indexes on it are rebuilt.
-- * The (action, ts) index is dropped: each shipped row paid for it, and
--   a filter on action (like those on event type and actor, which never
--   had an index) is answered from the (source, ts), (host, ts) or ts
--   index in time order: milliseconds for recent entries, bounded by
--   --since/--until. Kept: the primary key (log_id, seq), ts, (source, ts)
--   for "the last operations of tool X", (host, ts) for queries by host
--   and (session_id, ts) for one run's entries (without it, "every entry
--   of an old session" read the whole ts index: 0.7 s over a million
--   rows instead of under a millisecond).

DROP INDEX IF EXISTS evident.records_action_ts;

ALTER TABLE evident.records
    ALTER COLUMN log_id     TYPE text COLLATE "C",
    ALTER COLUMN kind       TYPE text COLLATE "C",
    ALTER COLUMN event_type TYPE text COLLATE "C",
    ALTER COLUMN action     TYPE text COLLATE "C",
    ALTER COLUMN actor      TYPE text COLLATE "C",
    ALTER COLUMN host       TYPE text COLLATE "C",
    ALTER COLUMN session_id TYPE text COLLATE "C",
    ALTER COLUMN source     TYPE text COLLATE "C";

ALTER TABLE evident.refusals
    ALTER COLUMN log_id TYPE text COLLATE "C";
