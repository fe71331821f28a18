-- Who bears each part of a refund: the return label (its cost and payer) and the money carried by the
-- seller, the liable counterparty (marketplace, carrier, or SAFE-T) and the customer.
ALTER TABLE core.decisions
    ADD COLUMN return_label_minor bigint NOT NULL DEFAULT 0,
    ADD COLUMN return_label_paid_by text CHECK (return_label_paid_by IN ('seller', 'customer')),
    ADD COLUMN borne_by_seller_minor bigint NOT NULL DEFAULT 0,
    ADD COLUMN borne_by_counterparty_minor bigint NOT NULL DEFAULT 0,
    ADD COLUMN borne_by_customer_minor bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN core.decisions.borne_by_seller_minor IS 'seller cost less what the counterparty bears, plus the return label when the seller pays it (transaction currency)';
