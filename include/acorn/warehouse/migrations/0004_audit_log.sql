-- Append-only audit log: every load, decision batch, review answer and switch change leaves an event.
CREATE TABLE core.audit_log (
    event_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    actor        text        NOT NULL,
    action       text        NOT NULL,
    batch_id     uuid,
    details      jsonb       NOT NULL
);
CREATE INDEX ON core.audit_log (occurred_at);

CREATE FUNCTION core.audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'core.audit_log is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON core.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION core.audit_log_is_append_only();
