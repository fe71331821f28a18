-- A corrected re-export updated the refund line and its decision but not what was derived from the old row:
-- a claim of 24.00 stayed beside a refund corrected to 12.00, a review item kept the old amount. The loader
-- now corrects claims and review items that are still open (nobody filed or answered them); what a person
-- acted on stays as it was, and the warehouse refuses to change it. Every claim correction is kept.
GRANT UPDATE (counterparty, currency, amount_minor, opens_on, deadline, evidence, batch_id)
    ON core.claims TO acorn_loader;
GRANT UPDATE (summary, currency, amount_minor, batch_id) ON core.review_items TO acorn_loader;

CREATE FUNCTION core.corrected_only_while_open() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state <> 'open' AND (to_jsonb(NEW) - 'state' - 'resolved_at' - 'resolved_by' - 'request_id')
            IS DISTINCT FROM (to_jsonb(OLD) - 'state' - 'resolved_at' - 'resolved_by' - 'request_id') THEN
        RAISE EXCEPTION '% % is % already: only an open one is corrected', TG_TABLE_NAME,
            COALESCE(to_jsonb(OLD)->>'claim_id', to_jsonb(OLD)->>'review_item_id'), OLD.state;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER claims_corrected_only_while_open BEFORE UPDATE ON core.claims
    FOR EACH ROW EXECUTE FUNCTION core.corrected_only_while_open();
CREATE TRIGGER review_items_corrected_only_while_open BEFORE UPDATE ON core.review_items
    FOR EACH ROW EXECUTE FUNCTION core.corrected_only_while_open();

CREATE TABLE core.claim_corrections (
    claim_id             uuid        NOT NULL,
    refund_uid           uuid        NOT NULL,
    old_currency         char(3)     NOT NULL,
    old_amount_minor     bigint      NOT NULL,
    new_currency         char(3)     NOT NULL,
    new_amount_minor     bigint      NOT NULL,
    old_deadline         date        NOT NULL,
    new_deadline         date        NOT NULL,
    corrected_at         timestamptz NOT NULL DEFAULT now(),
    corrected_by_batch   uuid        NOT NULL
);
CREATE INDEX claim_corrections_claim_idx ON core.claim_corrections (claim_id);

CREATE FUNCTION core.keep_claim_corrections() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO core.claim_corrections (claim_id, refund_uid, old_currency, old_amount_minor, new_currency,
                                        new_amount_minor, old_deadline, new_deadline, corrected_by_batch)
    SELECT o.claim_id, o.refund_uid, o.currency, o.amount_minor, n.currency, n.amount_minor, o.deadline,
           n.deadline, n.batch_id
    FROM corrected_old o JOIN corrected_new n USING (claim_id)
    WHERE (o.currency, o.amount_minor, o.deadline, o.counterparty, o.opens_on, o.evidence)
          IS DISTINCT FROM (n.currency, n.amount_minor, n.deadline, n.counterparty, n.opens_on, n.evidence);
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION core.keep_claim_corrections() FROM PUBLIC;
CREATE TRIGGER claims_keep_corrections AFTER UPDATE ON core.claims
    REFERENCING OLD TABLE AS corrected_old NEW TABLE AS corrected_new
    FOR EACH STATEMENT EXECUTE FUNCTION core.keep_claim_corrections();
GRANT SELECT ON core.claim_corrections TO acorn_loader;
