-- A review item is resolved only by an answer to the request that showed it, and an answer is recorded only
-- for a pending request of its own run, once: the loader, which records answers, cannot answer for anyone
-- else or resolve items no person was shown. Enforced here, for every role.
ALTER TABLE core.review_answers ADD CONSTRAINT review_answers_one_per_request UNIQUE (request_id);

CREATE FUNCTION core.review_answer_for_a_pending_request() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    request core.review_requests;
BEGIN
    SELECT * INTO request FROM core.review_requests WHERE request_id = NEW.request_id;
    IF NOT FOUND OR request.state <> 'pending' OR (request.dag_id, request.run_id) <> (NEW.dag_id, NEW.run_id) THEN
        RAISE EXCEPTION 'review answer % is not for a pending review request of run % (request %)',
            NEW.answer_id, NEW.run_id, NEW.request_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER review_answer_for_a_pending_request BEFORE INSERT ON core.review_answers
    FOR EACH ROW EXECUTE FUNCTION core.review_answer_for_a_pending_request();

CREATE FUNCTION core.review_items_resolved_by_their_answer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state = 'open' AND NEW.state <> 'open' THEN
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
CREATE TRIGGER review_items_resolved_by_their_answer BEFORE UPDATE ON core.review_items
    FOR EACH ROW EXECUTE FUNCTION core.review_items_resolved_by_their_answer();
