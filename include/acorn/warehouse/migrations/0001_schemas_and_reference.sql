-- Schemas by role: staging for loads, core for the system of record, mart for analysts.
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS mart;

CREATE TABLE core.currency (
    code     char(3) PRIMARY KEY,
    exponent smallint NOT NULL CHECK (exponent BETWEEN 0 AND 4)
);
INSERT INTO core.currency (code, exponent) VALUES
    ('EUR', 2), ('USD', 2), ('GBP', 2), ('CAD', 2), ('MXN', 2), ('JPY', 0),
    ('AUD', 2), ('CHF', 2), ('SEK', 2), ('PLN', 2);

CREATE TABLE core.fx_rates (
    rate_date    date          NOT NULL,
    currency     char(3)       NOT NULL REFERENCES core.currency,
    rate_per_eur numeric(18, 6) NOT NULL CHECK (rate_per_eur > 0),
    source       text          NOT NULL,
    loaded_at    timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (rate_date, currency)
);
COMMENT ON TABLE core.fx_rates IS 'ECB reference rates: units of currency per 1 EUR, per business day.';
