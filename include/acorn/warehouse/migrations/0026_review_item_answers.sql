-- A review is answered line by line: one row per item, whoever answered it and wherever (the reviewer's page
-- in the Airflow UI, or the run's review task, which answers the items it showed that are still open). The
-- primary key is the compare-and-set: an item is answered once, and a second reviewer finds it taken.
-- The policy's decision row stays as the policy wrote it; the outcome after review is mart.refund_outcomes.
CREATE TABLE core.review_item_answers (
    review_item_id  uuid        PRIMARY KEY REFERENCES core.review_items,
    answer          text        NOT NULL CHECK (answer IN ('approved', 'rejected', 'escalated')),
    comment         text        CHECK (char_length(comment) <= 2000),
    responded_by    text        NOT NULL CHECK (responded_by <> ''),
    responded_at    timestamptz NOT NULL,
    source          text        NOT NULL CHECK (source IN ('page', 'hitl')),
    answer_id       uuid        REFERENCES core.review_answers,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((source = 'hitl') = (answer_id IS NOT NULL))
);
CREATE INDEX review_item_answers_responded_at_idx ON core.review_item_answers (responded_at);
COMMENT ON TABLE core.review_item_answers IS 'One answer per review item: what, who, when, from where.';
GRANT SELECT, INSERT ON core.review_item_answers TO acorn_loader;

-- What the queue sorts and pages on: the open items, newest first.
CREATE INDEX review_items_open_idx ON core.review_items (created_at DESC) WHERE state = 'open';

-- An item leaves 'open' for an answered state only by its own answer row, with the same answer and person;
-- the load may still withdraw it. (Until now the check was the request's one answer: that allowed only
-- whole-request answers.)
CREATE OR REPLACE FUNCTION core.review_items_resolved_by_their_answer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state = 'open' AND NEW.state NOT IN ('open', 'withdrawn') THEN
        IF NEW.request_id IS DISTINCT FROM OLD.request_id OR NOT EXISTS (
            SELECT 1 FROM core.review_item_answers a
            WHERE a.review_item_id = NEW.review_item_id AND a.answer = NEW.state
              AND a.responded_by = NEW.resolved_by
        ) THEN
            RAISE EXCEPTION 'review item % can only be % by its own answer', OLD.review_item_id, NEW.state;
        END IF;
    END IF;
    RETURN NEW;
END $$;

-- An answer is given to an item still open, and never changed or taken back.
CREATE FUNCTION core.review_item_answer_for_an_open_item() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION 'core.review_item_answers is append-only (% refused)', TG_OP;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM core.review_items WHERE review_item_id = NEW.review_item_id AND state = 'open')
    THEN
        RAISE EXCEPTION 'review item % is not open: it cannot be answered', NEW.review_item_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER review_item_answer_for_an_open_item BEFORE INSERT OR UPDATE OR DELETE ON core.review_item_answers
    FOR EACH ROW EXECUTE FUNCTION core.review_item_answer_for_an_open_item();

-- The answers given before this migration (whole requests, through the review task) as item rows, so the
-- history reads the same way whatever its age. The trigger is off for these rows only: their items are
-- answered already.
ALTER TABLE core.review_item_answers DISABLE TRIGGER review_item_answer_for_an_open_item;
INSERT INTO core.review_item_answers (review_item_id, answer, comment, responded_by, responded_at, source,
                                      answer_id)
SELECT i.review_item_id, i.state, a.comment, i.resolved_by, coalesce(i.resolved_at, a.responded_at), 'hitl',
       a.answer_id
FROM core.review_items i
JOIN core.review_answers a ON a.request_id = i.request_id
WHERE i.state IN ('approved', 'rejected', 'escalated') AND i.resolved_by IS NOT NULL;
ALTER TABLE core.review_item_answers ENABLE TRIGGER review_item_answer_for_an_open_item;
