-- A review request is what one review task showed a person: the exact open items, claimed for that run.
-- An answer resolves the items of the request it answers and nothing else; an item sits in at most one
-- pending request, so two runs of one interval never offer the same item twice.
CREATE TABLE core.review_requests (
    request_id  uuid        PRIMARY KEY,
    dag_id      text        NOT NULL,
    run_id      text        NOT NULL,
    state       text        NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'answered', 'superseded')),
    item_ids    uuid[]      NOT NULL,
    missing_accounts text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    closed_at   timestamptz
);
CREATE INDEX ON core.review_requests (dag_id, run_id);
ALTER TABLE core.review_items ADD COLUMN request_id uuid REFERENCES core.review_requests;
ALTER TABLE core.review_answers
    ADD COLUMN request_id uuid REFERENCES core.review_requests,
    ADD COLUMN items_shown integer,
    ADD COLUMN items_already_answered integer;
GRANT SELECT, INSERT, UPDATE ON core.review_requests TO acorn_loader;
