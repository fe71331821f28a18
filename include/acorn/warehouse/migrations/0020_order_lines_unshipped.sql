-- An order line that has not shipped has no shipping date: a refund of an order cancelled before shipment
-- (or of a store order never fulfilled) refers to such a line. The column was NOT NULL, so the mappers put
-- a stand-in there (Amazon's EarliestShipDate) or the line was quarantined and its refund loaded without it.
ALTER TABLE core.order_lines ALTER COLUMN shipped_at DROP NOT NULL;
