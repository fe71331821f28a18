-- Refunds against the settlements that paid them out: what was refunded vs what the settlement took, and the
-- FX difference of valuing the refund at the deposit date instead of the refund date (reporting currency).
DROP VIEW IF EXISTS mart.refund_settlement;
CREATE VIEW mart.refund_settlement AS
WITH latest AS (
    SELECT DISTINCT ON (refund_uid) refund_uid, reporting_currency, amount_reporting_minor, fx_rate_e9
    FROM core.decisions
    ORDER BY refund_uid, decided_at DESC
), valued AS (
    SELECT s.settlement_id,
           s.refund_uid,
           s.account_id,
           s.currency,
           r.refunded_at,
           s.deposit_date,
           r.amount_minor,
           s.settled_minor,
           c.exponent,
           d.reporting_currency,
           rc.exponent AS reporting_exponent,
           d.amount_reporting_minor,
           CASE WHEN s.currency = 'EUR' THEN 1 ELSE (
               SELECT f.rate_per_eur FROM core.fx_rates f
               WHERE f.currency = s.currency AND f.rate_date <= s.deposit_date::date
               ORDER BY f.rate_date DESC LIMIT 1) END AS ccy_per_eur,
           CASE WHEN d.reporting_currency = 'EUR' THEN 1 ELSE (
               SELECT f.rate_per_eur FROM core.fx_rates f
               WHERE f.currency = d.reporting_currency AND f.rate_date <= s.deposit_date::date
               ORDER BY f.rate_date DESC LIMIT 1) END AS reporting_per_eur
    FROM core.settlement_refunds s
    JOIN core.refund_lines r ON r.refund_uid = s.refund_uid
    JOIN core.currency c ON c.code = s.currency
    LEFT JOIN latest d ON d.refund_uid = s.refund_uid
    LEFT JOIN core.currency rc ON rc.code = d.reporting_currency
)
SELECT settlement_id,
       refund_uid,
       account_id,
       currency,
       refunded_at,
       deposit_date,
       amount_minor::numeric / 10::numeric ^ exponent AS refunded,
       settled_minor::numeric / 10::numeric ^ exponent AS settled,
       (settled_minor - amount_minor)::numeric / 10::numeric ^ exponent AS settlement_difference,
       reporting_currency,
       amount_reporting_minor::numeric / 10::numeric ^ reporting_exponent AS refunded_reporting,
       core.round_half_even(settled_minor::numeric / 10::numeric ^ exponent * reporting_per_eur / ccy_per_eur,
                            reporting_exponent) AS settled_reporting,
       core.round_half_even(settled_minor::numeric / 10::numeric ^ exponent * reporting_per_eur / ccy_per_eur,
                            reporting_exponent)
           - amount_reporting_minor::numeric / 10::numeric ^ reporting_exponent AS fx_difference_reporting
FROM valued;
COMMENT ON VIEW mart.refund_settlement IS 'Each refund against the settlement that paid it out: amount and FX differences.';
COMMENT ON COLUMN mart.refund_settlement.settlement_id IS 'Amazon settlement id (settlement report).';
COMMENT ON COLUMN mart.refund_settlement.refund_uid IS 'ACORN id of the refund line.';
COMMENT ON COLUMN mart.refund_settlement.account_id IS 'Channel account.';
COMMENT ON COLUMN mart.refund_settlement.currency IS 'Settlement (and refund) currency.';
COMMENT ON COLUMN mart.refund_settlement.refunded_at IS 'When the refund was posted (UTC).';
COMMENT ON COLUMN mart.refund_settlement.deposit_date IS 'When the settlement was deposited (UTC).';
COMMENT ON COLUMN mart.refund_settlement.refunded IS 'Amount refunded to the buyer, transaction currency.';
COMMENT ON COLUMN mart.refund_settlement.settled IS 'What the settlement took back for the refund, transaction currency.';
COMMENT ON COLUMN mart.refund_settlement.reporting_currency IS 'Reporting currency of the decision''s policy.';
COMMENT ON COLUMN mart.refund_settlement.settlement_difference IS 'Settled minus refunded, transaction currency: not zero means the settlement does not add up.';
COMMENT ON COLUMN mart.refund_settlement.refunded_reporting IS 'The refund in the reporting currency at the ECB rate of the refund date (the decision).';
COMMENT ON COLUMN mart.refund_settlement.settled_reporting IS 'What the settlement took, in the reporting currency at the ECB rate of the deposit date.';
COMMENT ON COLUMN mart.refund_settlement.fx_difference_reporting IS 'FX difference between refund date and settlement date, reporting currency (positive: the refund cost more when settled).';
GRANT SELECT ON mart.refund_settlement TO acorn_analyst;
