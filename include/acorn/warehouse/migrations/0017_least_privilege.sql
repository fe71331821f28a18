-- The pipeline works as a login role in acorn_loader, never as the owner: it may add rows and change what
-- its own tasks change, and nothing else. Only the migration owner can alter a table, a trigger or the
-- audit log; session_replication_role needs a superuser.
REVOKE ALL ON ALL TABLES IN SCHEMA core FROM acorn_loader;
GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA core TO acorn_loader;
-- upserts of what the channels re-send (ON CONFLICT ... DO UPDATE), rates, the daily summary
GRANT UPDATE ON core.orders, core.order_lines, core.refund_lines, core.decisions, core.policy_rules,
    core.settlement_refunds, core.reimbursements, core.fx_rates, core.daily_summary TO acorn_loader;
-- a review item is claimed by a request and answered once; a request is answered or superseded
GRANT UPDATE (request_id, state, resolved_at, resolved_by) ON core.review_items TO acorn_loader;
GRANT UPDATE (state, closed_at) ON core.review_requests TO acorn_loader;
-- review answers, claims, quarantine and the audit log: insert only; DELETE and TRUNCATE: nowhere
GRANT SELECT ON public.acorn_schema_migrations TO acorn_loader;
GRANT USAGE ON SCHEMA mart TO acorn_loader;
GRANT SELECT ON ALL TABLES IN SCHEMA mart TO acorn_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA mart GRANT SELECT ON TABLES TO acorn_loader;

-- Staging tables are the loader's alone: nobody else may create temporary tables in the warehouse.
DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO acorn_loader', current_database());
END $$;

-- The load's lock on (account, interval) is a row lock on a table only the loader can reach: an advisory
-- lock key can be taken by any role, and an analyst holding it stalled every load of that batch.
CREATE TABLE core.load_locks (
    lock_key  text PRIMARY KEY
);
GRANT SELECT, INSERT, UPDATE ON core.load_locks TO acorn_loader;

-- Guarded transitions: an answered review item and a closed request stay as they were answered.
CREATE FUNCTION core.review_items_answered_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state <> 'open' AND (NEW.state, NEW.resolved_at, NEW.resolved_by)
            IS DISTINCT FROM (OLD.state, OLD.resolved_at, OLD.resolved_by) THEN
        RAISE EXCEPTION 'review item % is % already: an answered item is not changed', OLD.review_item_id, OLD.state;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER review_items_answered_once BEFORE UPDATE ON core.review_items
    FOR EACH ROW EXECUTE FUNCTION core.review_items_answered_once();

CREATE FUNCTION core.review_requests_closed_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state <> 'pending' AND NEW.state IS DISTINCT FROM OLD.state THEN
        RAISE EXCEPTION 'review request % is % already', OLD.request_id, OLD.state;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER review_requests_closed_once BEFORE UPDATE ON core.review_requests
    FOR EACH ROW EXECUTE FUNCTION core.review_requests_closed_once();

-- Refreshing a materialized view needs its owner: the loader refreshes through this function only.
CREATE FUNCTION core.refresh_marts() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    REFRESH MATERIALIZED VIEW mart.daily_refunds;
END $$;
REVOKE ALL ON FUNCTION core.refresh_marts() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION core.refresh_marts() TO acorn_loader;
