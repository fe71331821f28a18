-- A quarantined input row has an identity of its own (account, entity, check, field, the record as received
-- and which copy of it in its batch), so a re-read of the same interval that finds it again adds nothing:
-- the daily re-read stored every hourly batch's quarantine a second time (7 rows became 14).
ALTER TABLE core.quarantine ADD COLUMN quarantine_uid uuid;
CREATE UNIQUE INDEX quarantine_uid_key ON core.quarantine (quarantine_uid);
COMMENT ON COLUMN core.quarantine.quarantine_uid IS
    'Identity of the held-back row across re-reads (NULL for rows quarantined before migration 0018).';

-- The daily summary per account and currency: quarantined rows are counted under their own currency, and
-- those without a readable one under XXX (ISO 4217: no currency), instead of the account's whole count on
-- every currency row.
COMMENT ON COLUMN core.daily_summary.quarantined IS
    'Input rows of the day held back in this currency (XXX: rows without a readable currency).';
