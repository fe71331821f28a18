-- Decisions keep their history: one row per refund line and policy version.
CREATE TABLE core.decisions (
    refund_uid                   uuid        NOT NULL REFERENCES core.refund_lines,
    policy_version               text        NOT NULL,
    outcome                      text        NOT NULL CHECK (outcome IN ('approve', 'review', 'reject', 'claim')),
    decision_rule                text        NOT NULL,
    decision_reason              text        NOT NULL,
    liable_party                 text        NOT NULL CHECK (liable_party IN ('seller', 'marketplace', 'carrier', 'customer')),
    liability_rule               text        NOT NULL,
    liability_reason             text        NOT NULL,
    accounting_category          text        NOT NULL,
    claim_type                   text,
    claim_opens_on               date,
    claim_deadline               date,
    risk_flags                   text        NOT NULL,
    reporting_currency           char(3)     NOT NULL,
    fx_rate_e9                   bigint      NOT NULL,
    fx_rate_date                 date,
    amount_reporting_minor       bigint      NOT NULL,
    refund_admin_fee_minor       bigint      NOT NULL,
    referral_fee_returned_minor  bigint      NOT NULL,
    seller_cost_minor            bigint      NOT NULL,
    seller_cost_reporting_minor  bigint      NOT NULL,
    recoverable_minor            bigint      NOT NULL,
    decided_at                   timestamptz NOT NULL DEFAULT now(),
    batch_id                     uuid        NOT NULL,
    PRIMARY KEY (refund_uid, policy_version)
);

CREATE TABLE core.review_items (
    review_item_id  uuid        PRIMARY KEY,
    batch_id        uuid        NOT NULL REFERENCES core.batch_ledger,
    kind            text        NOT NULL CHECK (kind IN ('refund_decision', 'batch_hold', 'anomaly')),
    refund_uid      uuid,
    summary         text        NOT NULL,
    currency        char(3),
    amount_minor    bigint,
    state           text        NOT NULL DEFAULT 'open'
                    CHECK (state IN ('open', 'approved', 'rejected', 'escalated')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    resolved_by     text
);
CREATE INDEX ON core.review_items (state);

CREATE TABLE core.review_answers (
    answer_id       uuid        PRIMARY KEY,
    dag_id          text        NOT NULL,
    run_id          text        NOT NULL,
    task_id         text        NOT NULL,
    chosen_option   text        NOT NULL,
    comment         text,
    responded_by    text        NOT NULL,
    responded_at    timestamptz NOT NULL,
    items_resolved  integer     NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE core.claims (
    claim_id      uuid        PRIMARY KEY,
    refund_uid    uuid        NOT NULL REFERENCES core.refund_lines,
    claim_type    text        NOT NULL,
    counterparty  text        NOT NULL,
    currency      char(3)     NOT NULL,
    amount_minor  bigint      NOT NULL,
    opens_on      date        NOT NULL,
    deadline      date        NOT NULL,
    state         text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'filed', 'won', 'lost', 'expired')),
    evidence      jsonb       NOT NULL,
    batch_id      uuid        NOT NULL REFERENCES core.batch_ledger,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE core.daily_summary (
    day            date        NOT NULL,
    account_id     text        NOT NULL,
    currency       char(3)     NOT NULL,
    refund_lines   integer     NOT NULL,
    refunded_minor bigint      NOT NULL,
    quarantined    integer     NOT NULL,
    open_reviews   integer     NOT NULL,
    written_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, account_id, currency)
);
