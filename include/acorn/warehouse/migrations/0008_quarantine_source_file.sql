-- Quarantined rows name the file they came from (CSV drops bring several files to one batch), and the file
-- is part of the key: line 12 of two files are two rows.
ALTER TABLE core.quarantine ADD COLUMN source_file text NOT NULL DEFAULT '';
ALTER TABLE core.quarantine DROP CONSTRAINT quarantine_pkey;
ALTER TABLE core.quarantine ADD PRIMARY KEY (batch_id, entity, source_file, source_row, check_name);
COMMENT ON COLUMN core.quarantine.source_file IS 'The landing file (with its detected encoding) for file-based channels; empty for API channels.';
