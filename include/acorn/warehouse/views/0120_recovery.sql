-- Claims against what Amazon already paid back: which are reimbursed, which are still to claim, which expired.
DROP VIEW IF EXISTS mart.claim_recovery;
CREATE VIEW mart.claim_recovery AS
SELECT cl.claim_id,
       cl.claim_type,
       cl.counterparty,
       cl.state,
       rl.account_id,
       o.external_order_id,
       cl.currency,
       cl.amount_minor::numeric / 10::numeric ^ c.exponent AS claimed,
       coalesce(r.reimbursed_minor, 0)::numeric / 10::numeric ^ c.exponent AS reimbursed,
       coalesce(r.reimbursements, 0) AS reimbursements,
       r.last_reimbursed_at,
       CASE
           WHEN coalesce(r.reimbursed_minor, 0) >= cl.amount_minor THEN 'reimbursed'
           WHEN coalesce(r.reimbursed_minor, 0) > 0 THEN 'partly reimbursed'
           WHEN cl.deadline < current_date THEN 'expired'
           ELSE 'to claim'
       END AS recovery,
       cl.opens_on,
       cl.deadline
FROM core.claims cl
JOIN core.currency c ON c.code = cl.currency
JOIN core.refund_lines rl ON rl.refund_uid = cl.refund_uid
LEFT JOIN core.orders o ON o.order_uid = rl.order_uid
LEFT JOIN LATERAL (
    SELECT sum(x.amount_minor) AS reimbursed_minor, count(*) AS reimbursements, max(x.posted_at) AS last_reimbursed_at
    FROM core.reimbursements x
    WHERE x.account_id = rl.account_id AND x.external_order_id = o.external_order_id AND x.currency = cl.currency
) r ON true
WHERE cl.state <> 'withdrawn';
COMMENT ON VIEW mart.claim_recovery IS 'Each claim with what Amazon already reimbursed for its order: reimbursed, partly, to claim, or expired.';
COMMENT ON COLUMN mart.claim_recovery.claim_id IS 'ACORN id of the claim.';
COMMENT ON COLUMN mart.claim_recovery.claim_type IS 'fba_warehouse_damage, fba_customer_return, carrier_claim, safet_claim, a_to_z_appeal.';
COMMENT ON COLUMN mart.claim_recovery.counterparty IS 'Who should pay: marketplace or carrier.';
COMMENT ON COLUMN mart.claim_recovery.state IS 'The claim''s work state (open, filed, won, lost, expired; a claim withdrawn because its refund was decided again is left out).';
COMMENT ON COLUMN mart.claim_recovery.account_id IS 'Channel account.';
COMMENT ON COLUMN mart.claim_recovery.external_order_id IS 'The channel''s order id (Amazon order id).';
COMMENT ON COLUMN mart.claim_recovery.currency IS 'Claim currency.';
COMMENT ON COLUMN mart.claim_recovery.claimed IS 'What the claim asks for, claim currency.';
COMMENT ON COLUMN mart.claim_recovery.reimbursed IS 'What Amazon reimbursed for the order (reversals netted), claim currency.';
COMMENT ON COLUMN mart.claim_recovery.reimbursements IS 'How many reimbursement rows matched.';
COMMENT ON COLUMN mart.claim_recovery.last_reimbursed_at IS 'When the latest matching reimbursement was approved.';
COMMENT ON COLUMN mart.claim_recovery.recovery IS 'reimbursed, partly reimbursed, to claim (still inside its window) or expired (window passed, nothing paid).';
COMMENT ON COLUMN mart.claim_recovery.opens_on IS 'First day the claim may be filed.';
COMMENT ON COLUMN mart.claim_recovery.deadline IS 'Last day the claim may be filed.';
GRANT SELECT ON mart.claim_recovery TO acorn_analyst;
