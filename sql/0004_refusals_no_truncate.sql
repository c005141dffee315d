-- evident PostgreSQL schema, version 4: TRUNCATE of `evident.refusals` is
-- refused too, as it is of `evident.records` (0001 refused UPDATE and
-- DELETE of refusals but not TRUNCATE: the owner could erase the record of
-- refused forks without disabling anything).

CREATE TRIGGER refusals_no_truncate BEFORE TRUNCATE ON evident.refusals
    FOR EACH STATEMENT EXECUTE FUNCTION evident.refuse_change();
