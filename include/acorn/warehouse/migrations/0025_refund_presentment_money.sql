-- Shopify's presentment money (what the buyer paid and got back, in their currency) was fetched and dropped:
-- a seller with a multi-currency shop could not see what a refund cost the buyer, nor the FX between the two.
-- Channels with one currency have the row's own currency and amount.
ALTER TABLE core.refund_lines ADD COLUMN presentment_currency char(3);
ALTER TABLE core.refund_lines ADD COLUMN presentment_amount_minor bigint;
UPDATE core.refund_lines SET presentment_currency = currency, presentment_amount_minor = amount_minor;
ALTER TABLE core.refund_lines ALTER COLUMN presentment_currency SET NOT NULL;
ALTER TABLE core.refund_lines ALTER COLUMN presentment_amount_minor SET NOT NULL;
