-- Decisions and claims lose their per-row foreign-key triggers to core.refund_lines, like the other
-- high-volume tables (0002): at 250k decisions the RI checks were 2 of 7 seconds of their load. The loader
-- checks the whole batch at once instead: every decision and claim names a refund line of the same batch,
-- which it writes in the same transaction (acorn.warehouse.load.check_references).
ALTER TABLE core.decisions DROP CONSTRAINT decisions_refund_uid_fkey;
ALTER TABLE core.claims DROP CONSTRAINT claims_refund_uid_fkey;
