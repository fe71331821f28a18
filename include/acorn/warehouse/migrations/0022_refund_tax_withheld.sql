-- Marketplace-facilitator tax (Amazon US states, UK): the marketplace collects and remits it, and gives it back
-- to the seller with a refund (Finances ItemTaxWithheldList). The buyer's refund includes it; the seller's cost
-- does not. Other channels have none: 0.
ALTER TABLE core.refund_lines ADD COLUMN tax_withheld_minor bigint NOT NULL DEFAULT 0;
