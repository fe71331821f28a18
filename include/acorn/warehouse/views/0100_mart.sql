-- Analyst views. Re-created whenever this file changes; amounts are NUMERIC in major units.
DROP VIEW IF EXISTS mart.refunds, mart.refund_rate, mart.cost_by_liability, mart.review_queue, mart.refund_outcomes,
    mart.review_throughput, mart.claims_open, mart.quarantine_summary, mart.daily_summary CASCADE;
DROP MATERIALIZED VIEW IF EXISTS mart.daily_refunds;

CREATE VIEW mart.refunds AS
SELECT r.refund_uid,
       r.account_id,
       r.channel,
       r.marketplace,
       o.fulfillment_model,
       l.sku,
       l.category,
       r.event_type,
       r.refunded_at,
       r.reason,
       r.raw_reason,
       r.disposition,
       r.currency,
       r.amount_minor::numeric / 10::numeric ^ c.exponent AS amount,
       r.presentment_currency,
       r.presentment_amount_minor::numeric / 10::numeric ^ pc.exponent AS presentment_amount,
       d.reporting_currency,
       d.amount_reporting_minor::numeric / 10::numeric ^ rc.exponent AS amount_reporting,
       d.seller_cost_reporting_minor::numeric / 10::numeric ^ rc.exponent AS seller_cost_reporting,
       d.outcome,
       d.liable_party,
       d.accounting_category,
       d.decision_rule,
       dr.reason AS decision_reason,
       d.liability_rule,
       lr.reason AS liability_reason,
       d.policy_version,
       d.risk_flags,
       d.vat_minor::numeric / 10::numeric ^ c.exponent AS vat,
       d.credit_note_required,
       r.batch_id,
       d.return_label_minor::numeric / 10::numeric ^ c.exponent AS return_label,
       d.return_label_paid_by,
       d.borne_by_seller_minor::numeric / 10::numeric ^ c.exponent AS borne_by_seller,
       d.borne_by_counterparty_minor::numeric / 10::numeric ^ c.exponent AS borne_by_counterparty,
       d.borne_by_customer_minor::numeric / 10::numeric ^ c.exponent AS borne_by_customer,
       'refund: ' || CASE
           WHEN d.liable_party IN ('marketplace', 'carrier') THEN d.liable_party
           WHEN d.borne_by_counterparty_minor > 0 THEN 'seller (half recoverable via SAFE-T)'
           ELSE 'seller'
       END || '; refund fee kept: seller; referral fee returned: marketplace; restocking fee: customer; '
           || 'return label: ' || coalesce(d.return_label_paid_by, 'none') AS cost_bearers
FROM core.refund_lines r
JOIN core.currency c ON c.code = r.currency
LEFT JOIN core.currency pc ON pc.code = r.presentment_currency
LEFT JOIN core.order_lines l ON l.line_uid = r.line_uid
LEFT JOIN core.orders o ON o.order_uid = r.order_uid
LEFT JOIN LATERAL (
    SELECT * FROM core.decisions d WHERE d.refund_uid = r.refund_uid ORDER BY d.decided_at DESC LIMIT 1
) d ON true
LEFT JOIN core.currency rc ON rc.code = d.reporting_currency
LEFT JOIN core.policy_rules dr
       ON (dr.policy_version, dr.kind, dr.rule_id) = (d.policy_version, 'decision', d.decision_rule)
LEFT JOIN core.policy_rules lr
       ON (lr.policy_version, lr.kind, lr.rule_id) = (d.policy_version, 'liability', d.liability_rule);
COMMENT ON VIEW mart.refunds IS 'One row per refund line with its latest decision. Start here.';
COMMENT ON COLUMN mart.refunds.refund_uid IS 'ACORN id of the refund line (UUIDv5 of account and channel refund id).';
COMMENT ON COLUMN mart.refunds.account_id IS 'Channel account, as configured in channel_accounts.yaml.';
COMMENT ON COLUMN mart.refunds.channel IS 'amazon, shopify, magento or csv.';
COMMENT ON COLUMN mart.refunds.marketplace IS 'Amazon marketplace code (US, DE, JP...) or the store domain.';
COMMENT ON COLUMN mart.refunds.fulfillment_model IS 'AFN (fulfilled by Amazon), MFN (merchant-fulfilled) or STORE.';
COMMENT ON COLUMN mart.refunds.sku IS 'Seller SKU of the refunded order line.';
COMMENT ON COLUMN mart.refunds.category IS 'Product category of the order line.';
COMMENT ON COLUMN mart.refunds.event_type IS 'REFUND, GUARANTEE_CLAIM (A-to-z) or CHARGEBACK.';
COMMENT ON COLUMN mart.refunds.refunded_at IS 'When the channel posted the refund (UTC).';
COMMENT ON COLUMN mart.refunds.reason IS 'Normalized reason (reason_taxonomy.yaml); UNMAPPED for unknown channel codes.';
COMMENT ON COLUMN mart.refunds.raw_reason IS 'The reason code exactly as the channel sent it.';
COMMENT ON COLUMN mart.refunds.disposition IS 'Normalized condition of the returned item; empty when nothing came back.';
COMMENT ON COLUMN mart.refunds.currency IS 'Transaction currency (ISO 4217).';
COMMENT ON COLUMN mart.refunds.amount IS 'Amount refunded to the buyer, in the transaction currency.';
COMMENT ON COLUMN mart.refunds.presentment_currency IS 'The currency the buyer paid and was refunded in (Shopify presentment money); the refund''s currency where the channel has one.';
COMMENT ON COLUMN mart.refunds.presentment_amount IS 'What the buyer got back, in presentment_currency (major units).';
COMMENT ON COLUMN mart.refunds.reporting_currency IS 'Reporting currency of the policy.';
COMMENT ON COLUMN mart.refunds.amount_reporting IS 'Amount refunded, in the reporting currency at the ECB rate of the refund date.';
COMMENT ON COLUMN mart.refunds.seller_cost_reporting IS 'What the refund costs the seller after fees returned and kept, in the reporting currency.';
COMMENT ON COLUMN mart.refunds.return_label IS 'Cost of the prepaid return label (MFN and store returns), transaction currency.';
COMMENT ON COLUMN mart.refunds.return_label_paid_by IS 'seller (the reason is the seller''s fault) or customer; empty when there is no label.';
COMMENT ON COLUMN mart.refunds.borne_by_seller IS 'What the seller carries: the refund after fees, less what the counterparty bears, plus a label the seller pays.';
COMMENT ON COLUMN mart.refunds.borne_by_counterparty IS 'What the liable marketplace or carrier bears (or the SAFE-T half of a customer-damaged return).';
COMMENT ON COLUMN mart.refunds.borne_by_customer IS 'What the buyer carries: the restocking fee and a label the buyer pays.';
COMMENT ON COLUMN mart.refunds.cost_bearers IS 'Who bears each part: refund, fee kept, fee returned, restocking fee, return label.';
COMMENT ON COLUMN mart.refunds.outcome IS 'approve, review, reject or claim.';
COMMENT ON COLUMN mart.refunds.liable_party IS 'Who bears the cost: seller, marketplace, carrier or customer.';
COMMENT ON COLUMN mart.refunds.accounting_category IS 'Ledger category (customer_return, inbound_damage, warehouse_damage, carrier_loss, chargeback, a_to_z_guarantee, goodwill...).';
COMMENT ON COLUMN mart.refunds.decision_rule IS 'Id of the policy rule that gave the outcome.';
COMMENT ON COLUMN mart.refunds.liability_rule IS 'Id of the policy rule that gave liability and category.';
COMMENT ON COLUMN mart.refunds.decision_reason IS 'Why the decision rule gives its outcome, in the words of its policy version.';
COMMENT ON COLUMN mart.refunds.liability_reason IS 'Why the liability rule names that party, in the words of its policy version.';
COMMENT ON COLUMN mart.refunds.policy_version IS 'Version of the policy file that decided.';
COMMENT ON COLUMN mart.refunds.risk_flags IS 'Risk findings on the line (duplicate, exceeds_paid, serial_returner...).';
COMMENT ON COLUMN mart.refunds.vat IS 'Tax part of the refund (VAT or sales tax), transaction currency.';
COMMENT ON COLUMN mart.refunds.credit_note_required IS 'True where the refund needs a credit note (EU VAT marketplaces).';
COMMENT ON COLUMN mart.refunds.batch_id IS 'Batch that loaded the line: join core.batch_ledger for the landing file.';

CREATE VIEW mart.refund_rate AS
SELECT date_trunc('day', o.purchased_at)::date AS purchase_day,
       o.account_id,
       o.marketplace,
       l.category,
       count(*) AS order_lines,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM core.refund_lines r WHERE r.line_uid = l.line_uid)) AS refunded_lines,
       round(count(*) FILTER (WHERE EXISTS (SELECT 1 FROM core.refund_lines r WHERE r.line_uid = l.line_uid))::numeric
             / nullif(count(*), 0), 4) AS refund_rate
FROM core.order_lines l
JOIN core.orders o ON o.order_uid = l.order_uid
GROUP BY 1, 2, 3, 4;
COMMENT ON VIEW mart.refund_rate IS 'Share of order lines refunded, by purchase day, account, marketplace and category.';
COMMENT ON COLUMN mart.refund_rate.purchase_day IS 'Day the order was placed (UTC).';
COMMENT ON COLUMN mart.refund_rate.account_id IS 'Channel account.';
COMMENT ON COLUMN mart.refund_rate.marketplace IS 'Marketplace or store.';
COMMENT ON COLUMN mart.refund_rate.category IS 'Product category.';
COMMENT ON COLUMN mart.refund_rate.order_lines IS 'Order lines known to ACORN.';
COMMENT ON COLUMN mart.refund_rate.refunded_lines IS 'Of those, lines with at least one refund.';
COMMENT ON COLUMN mart.refund_rate.refund_rate IS 'refunded_lines / order_lines.';

CREATE VIEW mart.cost_by_liability AS
SELECT date_trunc('day', refunded_at)::date AS refund_day, account_id, liable_party, accounting_category,
       reporting_currency, count(*) AS refund_lines, sum(amount_reporting) AS amount_reporting,
       sum(seller_cost_reporting) AS seller_cost_reporting
FROM mart.refunds
WHERE outcome IS NOT NULL
GROUP BY 1, 2, 3, 4, 5;
COMMENT ON VIEW mart.cost_by_liability IS 'Refund cost by day, liable party and accounting category, in the reporting currency.';
COMMENT ON COLUMN mart.cost_by_liability.refund_day IS 'Day the refund was posted (UTC).';
COMMENT ON COLUMN mart.cost_by_liability.account_id IS 'Channel account.';
COMMENT ON COLUMN mart.cost_by_liability.liable_party IS 'seller, marketplace, carrier or customer.';
COMMENT ON COLUMN mart.cost_by_liability.accounting_category IS 'Ledger category.';
COMMENT ON COLUMN mart.cost_by_liability.reporting_currency IS 'Currency of the two sums.';
COMMENT ON COLUMN mart.cost_by_liability.refund_lines IS 'Number of refund lines.';
COMMENT ON COLUMN mart.cost_by_liability.amount_reporting IS 'Refunded to buyers.';
COMMENT ON COLUMN mart.cost_by_liability.seller_cost_reporting IS 'Borne by the seller after fees.';

CREATE VIEW mart.review_queue AS
SELECT i.review_item_id, i.kind, i.state, i.summary, i.currency,
       i.amount_minor::numeric / 10::numeric ^ coalesce(c.exponent, 2) AS amount, i.refund_uid, b.account_id,
       b.interval_start, b.interval_end, i.created_at, i.resolved_at, i.resolved_by,
       a.comment AS answer_comment, a.source AS answered_from, i.request_id, r.run_id AS review_run_id
FROM core.review_items i
JOIN core.batch_ledger b ON b.batch_id = i.batch_id
LEFT JOIN core.currency c ON c.code = i.currency
LEFT JOIN core.review_item_answers a ON a.review_item_id = i.review_item_id
LEFT JOIN core.review_requests r ON r.request_id = i.request_id;
COMMENT ON VIEW mart.review_queue IS 'Everything sent to a person, open or answered.';
COMMENT ON COLUMN mart.review_queue.review_item_id IS 'Id of the review item.';
COMMENT ON COLUMN mart.review_queue.kind IS 'refund_decision (policy said review), batch_hold (money did not add up) or anomaly.';
COMMENT ON COLUMN mart.review_queue.state IS 'open, approved, rejected, escalated, or withdrawn (a newer decision no longer asks).';
COMMENT ON COLUMN mart.review_queue.summary IS 'Why it needs a person.';
COMMENT ON COLUMN mart.review_queue.currency IS 'Currency of the amount.';
COMMENT ON COLUMN mart.review_queue.amount IS 'Amount at stake.';
COMMENT ON COLUMN mart.review_queue.refund_uid IS 'Refund line, for refund decisions.';
COMMENT ON COLUMN mart.review_queue.account_id IS 'Channel account of the batch.';
COMMENT ON COLUMN mart.review_queue.interval_start IS 'Start of the batch interval.';
COMMENT ON COLUMN mart.review_queue.interval_end IS 'End of the batch interval.';
COMMENT ON COLUMN mart.review_queue.created_at IS 'When it was raised.';
COMMENT ON COLUMN mart.review_queue.resolved_at IS 'When it was answered.';
COMMENT ON COLUMN mart.review_queue.resolved_by IS 'Who answered (Airflow user).';
COMMENT ON COLUMN mart.review_queue.answer_comment IS 'The comment given with the answer.';
COMMENT ON COLUMN mart.review_queue.answered_from IS 'page (the reviewer''s page) or hitl (the run''s review task).';
COMMENT ON COLUMN mart.review_queue.request_id IS 'The review task request that showed the item, if any.';
COMMENT ON COLUMN mart.review_queue.review_run_id IS 'The Airflow run whose review task showed the item.';

CREATE VIEW mart.refund_outcomes AS
WITH latest AS (
    SELECT DISTINCT ON (refund_uid) * FROM core.decisions ORDER BY refund_uid, decided_at DESC
), asked AS (
    SELECT DISTINCT ON (refund_uid) * FROM core.review_items
    WHERE kind = 'refund_decision' AND state <> 'withdrawn' ORDER BY refund_uid, created_at DESC
)
SELECT d.refund_uid, d.policy_version, d.outcome AS policy_outcome, d.decision_rule,
       i.review_item_id, i.state AS review_state, a.answer, a.responded_by AS answered_by,
       a.responded_at AS answered_at, a.source AS answered_from,
       CASE
           WHEN d.outcome <> 'review' THEN d.outcome
           WHEN a.answer = 'approved' THEN 'approve'
           WHEN a.answer = 'rejected' THEN 'reject'
           WHEN a.answer = 'escalated' THEN 'escalated'
           ELSE 'review'
       END AS final_outcome
FROM latest d
LEFT JOIN asked i ON i.refund_uid = d.refund_uid AND d.outcome = 'review'
LEFT JOIN core.review_item_answers a ON a.review_item_id = i.review_item_id;
COMMENT ON VIEW mart.refund_outcomes IS 'Each refund''s latest decision beside its outcome after review: the policy row stays as it was decided.';
COMMENT ON COLUMN mart.refund_outcomes.refund_uid IS 'Refund line.';
COMMENT ON COLUMN mart.refund_outcomes.policy_version IS 'Policy version of the decision.';
COMMENT ON COLUMN mart.refund_outcomes.policy_outcome IS 'What the policy decided: approve, review, reject or claim.';
COMMENT ON COLUMN mart.refund_outcomes.decision_rule IS 'The rule that decided.';
COMMENT ON COLUMN mart.refund_outcomes.review_item_id IS 'The review item, when the policy sent it to review.';
COMMENT ON COLUMN mart.refund_outcomes.review_state IS 'open, approved, rejected or escalated.';
COMMENT ON COLUMN mart.refund_outcomes.answer IS 'The reviewer''s answer, once given.';
COMMENT ON COLUMN mart.refund_outcomes.answered_by IS 'Airflow user who answered.';
COMMENT ON COLUMN mart.refund_outcomes.answered_at IS 'When.';
COMMENT ON COLUMN mart.refund_outcomes.answered_from IS 'page or hitl.';
COMMENT ON COLUMN mart.refund_outcomes.final_outcome IS 'approve, reject, claim, escalated (with finance), or review (still waiting).';

CREATE VIEW mart.review_throughput AS
SELECT date_trunc('day', created_at)::date AS day, kind, count(*) AS raised,
       count(*) FILTER (WHERE state <> 'open') AS answered,
       avg(resolved_at - created_at) FILTER (WHERE resolved_at IS NOT NULL) AS mean_time_to_answer
FROM core.review_items GROUP BY 1, 2;
COMMENT ON VIEW mart.review_throughput IS 'Review items raised and answered per day.';
COMMENT ON COLUMN mart.review_throughput.day IS 'Day raised.';
COMMENT ON COLUMN mart.review_throughput.kind IS 'Kind of item.';
COMMENT ON COLUMN mart.review_throughput.raised IS 'Items raised.';
COMMENT ON COLUMN mart.review_throughput.answered IS 'Of those, answered.';
COMMENT ON COLUMN mart.review_throughput.mean_time_to_answer IS 'Mean time from raised to answered.';

CREATE VIEW mart.claims_open AS
SELECT cl.claim_id, cl.claim_type, cl.counterparty, cl.state, cl.currency,
       cl.amount_minor::numeric / 10::numeric ^ c.exponent AS amount, cl.opens_on, cl.deadline,
       cl.deadline - current_date AS days_left, cl.refund_uid, cl.evidence
FROM core.claims cl JOIN core.currency c ON c.code = cl.currency
WHERE cl.state IN ('open', 'filed');
COMMENT ON VIEW mart.claims_open IS 'Claims to file against a marketplace or carrier, soonest deadline first.';
COMMENT ON COLUMN mart.claims_open.claim_id IS 'Claim work item.';
COMMENT ON COLUMN mart.claims_open.claim_type IS 'Kind of claim (fba_customer_return, fba_warehouse_damage, safe_t, carrier_loss, a_to_z_appeal).';
COMMENT ON COLUMN mart.claims_open.counterparty IS 'Who should pay: marketplace or carrier.';
COMMENT ON COLUMN mart.claims_open.state IS 'open or filed.';
COMMENT ON COLUMN mart.claims_open.currency IS 'Currency of the amount.';
COMMENT ON COLUMN mart.claims_open.amount IS 'Amount to recover.';
COMMENT ON COLUMN mart.claims_open.opens_on IS 'First day the claim may be filed.';
COMMENT ON COLUMN mart.claims_open.deadline IS 'Last day the claim may be filed.';
COMMENT ON COLUMN mart.claims_open.days_left IS 'Days until the deadline.';
COMMENT ON COLUMN mart.claims_open.refund_uid IS 'Refund line the claim is about.';
COMMENT ON COLUMN mart.claims_open.evidence IS 'References to the order, delivery, return and landing files.';

CREATE VIEW mart.quarantine_summary AS
SELECT q.account_id, q.entity, q.field, q.check_name, count(*) AS rows, min(q.quarantined_at) AS first_seen,
       max(q.quarantined_at) AS last_seen
FROM core.quarantine q GROUP BY 1, 2, 3, 4;
COMMENT ON VIEW mart.quarantine_summary IS 'Rows held back from loading, by account, entity, field and check.';
COMMENT ON COLUMN mart.quarantine_summary.account_id IS 'Channel account.';
COMMENT ON COLUMN mart.quarantine_summary.entity IS 'orders, order_lines or refund_lines.';
COMMENT ON COLUMN mart.quarantine_summary.field IS 'Field that failed.';
COMMENT ON COLUMN mart.quarantine_summary.check_name IS 'parse (unreadable) or the GX expectation that failed.';
COMMENT ON COLUMN mart.quarantine_summary.rows IS 'Rows quarantined.';
COMMENT ON COLUMN mart.quarantine_summary.first_seen IS 'First quarantined.';
COMMENT ON COLUMN mart.quarantine_summary.last_seen IS 'Last quarantined.';

CREATE MATERIALIZED VIEW mart.daily_refunds AS
SELECT date_trunc('day', refunded_at)::date AS day, account_id, marketplace, currency, outcome,
       count(*) AS refund_lines, sum(amount) AS amount, sum(amount_reporting) AS amount_reporting
FROM mart.refunds GROUP BY 1, 2, 3, 4, 5;
COMMENT ON MATERIALIZED VIEW mart.daily_refunds IS 'Refunds per day, account, marketplace and outcome; refreshed by acorn_refunds_daily.';
COMMENT ON COLUMN mart.daily_refunds.day IS 'Day the refund was posted (UTC).';
COMMENT ON COLUMN mart.daily_refunds.account_id IS 'Channel account.';
COMMENT ON COLUMN mart.daily_refunds.marketplace IS 'Marketplace or store.';
COMMENT ON COLUMN mart.daily_refunds.currency IS 'Transaction currency.';
COMMENT ON COLUMN mart.daily_refunds.outcome IS 'Decision outcome.';
COMMENT ON COLUMN mart.daily_refunds.refund_lines IS 'Refund lines.';
COMMENT ON COLUMN mart.daily_refunds.amount IS 'Refunded, transaction currency.';
COMMENT ON COLUMN mart.daily_refunds.amount_reporting IS 'Refunded, reporting currency.';

CREATE VIEW mart.daily_summary AS
SELECT s.day, s.account_id, s.currency, s.refund_lines,
       s.refunded_minor::numeric / 10::numeric ^ coalesce(c.exponent, 0) AS refunded,
       s.quarantined, s.open_reviews, s.written_at
FROM core.daily_summary s
LEFT JOIN core.currency c ON c.code = s.currency;
COMMENT ON VIEW mart.daily_summary IS 'The daily DAG''s summary: per day, account and currency, what was refunded, held back and left open.';
COMMENT ON COLUMN mart.daily_summary.day IS 'Day the refunds were posted (UTC).';
COMMENT ON COLUMN mart.daily_summary.account_id IS 'Channel account.';
COMMENT ON COLUMN mart.daily_summary.currency IS 'Transaction currency; XXX for input rows held back without a readable currency.';
COMMENT ON COLUMN mart.daily_summary.refund_lines IS 'Refund lines loaded.';
COMMENT ON COLUMN mart.daily_summary.refunded IS 'Refunded, transaction currency.';
COMMENT ON COLUMN mart.daily_summary.quarantined IS 'Input rows of the day held back in this currency, each counted once however often it was re-read.';
COMMENT ON COLUMN mart.daily_summary.open_reviews IS 'Review items of the day still open when the summary was written.';
COMMENT ON COLUMN mart.daily_summary.written_at IS 'When the summary was (re)written.';

GRANT SELECT ON ALL TABLES IN SCHEMA mart TO acorn_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA mart TO acorn_loader;
