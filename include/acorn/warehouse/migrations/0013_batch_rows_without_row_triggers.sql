-- The batch-written tables lose their per-row foreign-key triggers to core.batch_ledger, as the entity
-- tables never had them (0002): the loader writes the ledger row first, in the same transaction as the rows
-- that name it (acorn.warehouse.load.load_batch), so the check can only pass. At a million refund lines
-- the triggers were more than half of the review items' load (512k items: 6.8-7.6 s -> 2.7-3.3 s).
ALTER TABLE core.review_items DROP CONSTRAINT review_items_batch_id_fkey;
ALTER TABLE core.claims DROP CONSTRAINT claims_batch_id_fkey;
ALTER TABLE core.quarantine DROP CONSTRAINT quarantine_batch_id_fkey;
ALTER TABLE core.settlement_refunds DROP CONSTRAINT settlement_refunds_batch_id_fkey;
ALTER TABLE core.reimbursements DROP CONSTRAINT reimbursements_batch_id_fkey;

-- Refunds arrive a batch (an account's day) at a time, so the table's pages follow refunded_at: a BRIN index
-- answers the day and month ranges of the reports and the posted-refunds query from a few pages of
-- summaries, where the btree took a random insert per row (a million lines: 12.6-16.8 s -> 9.2-13.5 s).
-- autosummarize has autovacuum summarize each filled range; rows past the last summary are always read.
DROP INDEX core.refund_lines_refunded_at_idx;
CREATE INDEX refund_lines_refunded_at_brin ON core.refund_lines USING brin (refunded_at)
    WITH (autosummarize = on);
