-- VAT on every decision: the rate of the marketplace, the tax part of the refund, and whether the refund
-- needs a credit note (EU marketplaces).
ALTER TABLE core.decisions
    ADD COLUMN vat_rate_e6 bigint NOT NULL DEFAULT 0,
    ADD COLUMN vat_minor bigint NOT NULL DEFAULT 0,
    ADD COLUMN vat_expected_minor bigint NOT NULL DEFAULT 0,
    ADD COLUMN credit_note_required boolean NOT NULL DEFAULT false;
