-- What each settlement took back for a refund, and when it was deposited: the basis of the refund-vs-
-- settlement reconciliation and of the FX difference between refund date and settlement date.
CREATE TABLE core.settlement_refunds (
    settlement_id      text        NOT NULL,
    refund_uid         uuid        NOT NULL,
    account_id         text        NOT NULL,
    external_refund_id text        NOT NULL,
    external_order_id  text,
    deposit_date       timestamptz NOT NULL,
    currency           char(3)     NOT NULL REFERENCES core.currency,
    settled_minor      bigint      NOT NULL,
    batch_id           uuid        NOT NULL REFERENCES core.batch_ledger,
    PRIMARY KEY (settlement_id, refund_uid)
);
CREATE INDEX ON core.settlement_refunds (refund_uid);
COMMENT ON TABLE core.settlement_refunds IS 'Refund rows of Amazon settlement reports, summed per refund adjustment item.';
COMMENT ON COLUMN core.settlement_refunds.settled_minor IS 'What the settlement took back for the refund (positive), in the settlement currency.';
GRANT SELECT, INSERT, UPDATE ON core.settlement_refunds TO acorn_loader;

-- Banker's rounding in SQL, the same rule the library applies to money (round() rounds half away from zero).
CREATE FUNCTION core.round_half_even(v numeric, places integer) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT round(CASE
        WHEN abs(v * 10::numeric ^ places - trunc(v * 10::numeric ^ places)) = 0.5
            THEN (trunc(v * 10::numeric ^ places) + CASE WHEN trunc(v * 10::numeric ^ places) % 2 = 0 THEN 0 ELSE sign(v) END)
                 / 10::numeric ^ places
        ELSE v
    END, places)
$$;
