-- Every statement that writes an instrument's orders counts one change of its book (market_instrument.book_version),
-- whoever runs it: the order gateway (market/gateway.py) keeps an instrument's book in memory between its batches
-- and reads it again when the count is not the one its own last batch left (a cancel, an amend, an expiry, a
-- statement run by hand). Statement-level, so a batch of orders counts once.
CREATE OR REPLACE FUNCTION gx_market_book_changed() RETURNS trigger AS $$
BEGIN
  UPDATE market_instrument SET book_version = book_version + 1
   WHERE id IN (SELECT DISTINCT instrument_id FROM changed_orders);
  RETURN NULL;
END $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS market_order_book_changed_insert ON market_order;
CREATE TRIGGER market_order_book_changed_insert AFTER INSERT ON market_order
  REFERENCING NEW TABLE AS changed_orders FOR EACH STATEMENT EXECUTE FUNCTION gx_market_book_changed();
DROP TRIGGER IF EXISTS market_order_book_changed_update ON market_order;
CREATE TRIGGER market_order_book_changed_update AFTER UPDATE ON market_order
  REFERENCING NEW TABLE AS changed_orders FOR EACH STATEMENT EXECUTE FUNCTION gx_market_book_changed();
