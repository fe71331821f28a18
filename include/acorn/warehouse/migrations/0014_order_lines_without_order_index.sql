-- order_lines(order_uid) goes: no query of ACORN's reads order lines by their order (the join runs from a
-- refund to its line by line_uid, then to the order by its key), and its random-key inserts were 46% of the
-- order lines' load (a million lines: 11.2-12.5 s -> 5.9-6.8 s). An analyst who looks up the lines of single
-- orders at scale can add it back (CREATE INDEX CONCURRENTLY ON core.order_lines (order_uid)).
DROP INDEX core.order_lines_order_uid_idx;
