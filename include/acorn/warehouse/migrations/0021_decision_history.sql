-- A re-read that decides a loaded refund again under the same policy version replaces its decision in place
-- (the loader's upsert on refund line and policy version): "claim" became "review" and the first decision was
-- gone. Every replaced decision row is kept in core.decision_history, with when and by which batch, so what a
-- refund was decided before stays in the warehouse. A statement trigger with transition tables: one INSERT per
-- load that replaces anything, nothing at all for a load of new refunds (row triggers cost 2 of 7 s, 0012).
CREATE TABLE core.decision_history (LIKE core.decisions);
ALTER TABLE core.decision_history
    ADD COLUMN superseded_at        timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN superseded_by_batch  uuid        NOT NULL;
CREATE INDEX decision_history_refund_idx ON core.decision_history (refund_uid, policy_version);

CREATE FUNCTION core.keep_replaced_decisions() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO core.decision_history
    SELECT o.*, now(), n.batch_id
    FROM replaced o JOIN replacing n USING (refund_uid, policy_version);
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION core.keep_replaced_decisions() FROM PUBLIC;
CREATE TRIGGER decisions_keep_replaced AFTER UPDATE ON core.decisions
    REFERENCING OLD TABLE AS replaced NEW TABLE AS replacing
    FOR EACH STATEMENT EXECUTE FUNCTION core.keep_replaced_decisions();

-- the pipeline reads the history; only the trigger writes it
GRANT SELECT ON core.decision_history TO acorn_loader;
