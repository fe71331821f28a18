-- The canonical model. Money is bigint minor units of the row's currency; times are UTC.
-- The high-volume tables carry batch_id and currency without foreign keys: the loader writes the ledger row
-- in the same transaction and validation checks currencies, and per-row RI checks cost 38% of the load.
CREATE TABLE core.batch_ledger (
    batch_id         uuid        PRIMARY KEY,
    account_id       text        NOT NULL,
    interval_start   timestamptz NOT NULL,
    interval_end     timestamptz NOT NULL,
    content_hash     text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('loaded', 'held')),
    verdict          text        NOT NULL,
    landing_uri      text,
    rows_in          jsonb       NOT NULL,
    rows_loaded      jsonb       NOT NULL,
    amounts_in       jsonb       NOT NULL,
    dag_run_id       text,
    loaded_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, interval_start, interval_end, content_hash)
);
COMMENT ON TABLE core.batch_ledger IS 'One row per loaded batch (account x interval x content); a replay of the same content is a no-op.';

CREATE TABLE core.orders (
    order_uid          uuid        PRIMARY KEY,
    account_id         text        NOT NULL,
    channel            text        NOT NULL,
    marketplace        text        NOT NULL,
    external_order_id  text        NOT NULL,
    purchased_at       timestamptz NOT NULL,
    currency           char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    fulfillment_model  text        NOT NULL CHECK (fulfillment_model IN ('AFN', 'MFN', 'STORE')),
    ship_method        text        NOT NULL,
    buyer_ref          text,
    order_total_minor  bigint      NOT NULL,
    batch_id           uuid        NOT NULL,
    loaded_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE core.order_lines (
    line_uid            uuid        PRIMARY KEY,
    order_uid           uuid        NOT NULL,
    account_id          text        NOT NULL,
    external_line_id    text        NOT NULL,
    sku                 text        NOT NULL,
    category            text        NOT NULL,
    quantity            integer     NOT NULL,
    currency            char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    principal_minor     bigint      NOT NULL,
    shipping_minor      bigint      NOT NULL,
    tax_minor           bigint      NOT NULL,
    promotion_minor     bigint      NOT NULL,
    referral_fee_minor  bigint      NOT NULL,
    shipped_at          timestamptz NOT NULL,
    delivered_at        timestamptz,
    shipped_late        boolean     NOT NULL,
    batch_id            uuid        NOT NULL,
    loaded_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON core.order_lines (order_uid);

CREATE TABLE core.refund_lines (
    refund_uid            uuid        PRIMARY KEY,
    line_uid              uuid        NOT NULL,
    order_uid             uuid        NOT NULL,
    account_id            text        NOT NULL,
    channel               text        NOT NULL,
    marketplace           text        NOT NULL,
    external_refund_id    text        NOT NULL,
    event_type            text        NOT NULL,
    refunded_at           timestamptz NOT NULL,
    currency              char(3)     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    quantity              integer     NOT NULL,
    principal_minor       bigint      NOT NULL,
    shipping_minor        bigint      NOT NULL,
    tax_minor             bigint      NOT NULL,
    promotion_minor       bigint      NOT NULL,
    restocking_fee_minor  bigint      NOT NULL,
    amount_minor          bigint      NOT NULL,
    raw_reason            text,
    reason                text        NOT NULL,
    disposition           text,
    returnless            boolean     NOT NULL,
    return_received_at    timestamptz,
    batch_id              uuid        NOT NULL,
    loaded_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON core.refund_lines (line_uid);
CREATE INDEX ON core.refund_lines (refunded_at);

CREATE TABLE core.quarantine (
    batch_id        uuid        NOT NULL REFERENCES core.batch_ledger,
    entity          text        NOT NULL,
    source_row      integer     NOT NULL,
    check_name      text        NOT NULL,
    account_id      text        NOT NULL,
    source_key      text,
    field           text,
    reason          text        NOT NULL,
    currency        text,
    amount_minor    bigint,
    raw_record      jsonb       NOT NULL,
    quarantined_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, entity, source_row, check_name)
);
COMMENT ON TABLE core.quarantine IS 'Input rows that were not loaded, as received, with the field and reason.';
