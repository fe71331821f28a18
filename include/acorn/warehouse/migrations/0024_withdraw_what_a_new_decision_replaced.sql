-- A re-decided refund (a corrected re-export, a new policy version) left what its earlier decision derived:
-- a claim stayed open after the refund was decided review, and a review item of the old policy version stayed
-- open beside the new one, so a person was asked twice. The load now withdraws an open claim or open review
-- item that the refund's current decision no longer derives; what a person acted on stays as it is.
ALTER TABLE core.claims DROP CONSTRAINT claims_state_check;
ALTER TABLE core.claims ADD CONSTRAINT claims_state_check
    CHECK (state IN ('open', 'filed', 'won', 'lost', 'expired', 'withdrawn'));
ALTER TABLE core.review_items DROP CONSTRAINT review_items_state_check;
ALTER TABLE core.review_items ADD CONSTRAINT review_items_state_check
    CHECK (state IN ('open', 'approved', 'rejected', 'escalated', 'withdrawn'));
ALTER TABLE core.claims ADD COLUMN withdrawn_at timestamptz;
GRANT UPDATE (state, withdrawn_at) ON core.claims TO acorn_loader;

-- A claim's state moves only along its guarded transitions: open -> filed | withdrawn | expired,
-- filed -> won | lost; everything else is refused, whoever tries.
CREATE FUNCTION core.claims_guarded_transitions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state AND NOT (
        (OLD.state = 'open' AND NEW.state IN ('filed', 'withdrawn', 'expired'))
        OR (OLD.state = 'filed' AND NEW.state IN ('won', 'lost'))
    ) THEN
        RAISE EXCEPTION 'claim % cannot go from % to %', OLD.claim_id, OLD.state, NEW.state;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER claims_guarded_transitions BEFORE UPDATE ON core.claims
    FOR EACH ROW EXECUTE FUNCTION core.claims_guarded_transitions();

-- A review item is resolved by an answer to the request that showed it, or withdrawn by the load.
CREATE OR REPLACE FUNCTION core.review_items_resolved_by_their_answer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state = 'open' AND NEW.state NOT IN ('open', 'withdrawn') THEN
        IF NEW.request_id IS DISTINCT FROM OLD.request_id OR NOT EXISTS (
            SELECT 1 FROM core.review_answers a
            WHERE a.request_id = NEW.request_id AND a.responded_by = NEW.resolved_by
              AND CASE a.chosen_option WHEN 'Approve' THEN 'approved' WHEN 'Reject' THEN 'rejected'
                                       WHEN 'Escalate' THEN 'escalated' END = NEW.state
        ) THEN
            RAISE EXCEPTION 'review item % can only be % by an answer to the request that showed it',
                OLD.review_item_id, NEW.state;
        END IF;
    END IF;
    RETURN NEW;
END $$;
