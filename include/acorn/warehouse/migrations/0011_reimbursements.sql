-- What Amazon paid back (FBA reimbursements report, SAFE-T), so a claim can be seen reimbursed or still open.
CREATE TABLE core.reimbursements (
    source            text        NOT NULL CHECK (source IN ('fba_reimbursements_report', 'safet_claim')),
    reimbursement_id  text        NOT NULL,
    account_id        text        NOT NULL,
    case_id           text,
    external_order_id text,
    sku               text,
    reason            text,
    currency          char(3)     NOT NULL REFERENCES core.currency,
    amount_minor      bigint      NOT NULL,
    posted_at         timestamptz NOT NULL,
    batch_id          uuid        NOT NULL REFERENCES core.batch_ledger,
    PRIMARY KEY (source, reimbursement_id)
);
CREATE INDEX ON core.reimbursements (account_id, external_order_id);
COMMENT ON TABLE core.reimbursements IS 'Reimbursements Amazon paid (negative: clawbacks), as reported.';
GRANT SELECT, INSERT, UPDATE ON core.reimbursements TO acorn_loader;
