-- The market's rules that order entry (market/services/book.py, a batch of orders in one statement each) and the
-- Python selectors both read, kept once here (issue 14; docs/market.md "Where an order is entered"); who trades from
-- which accounts is in trading_terms.sql. PL/pgSQL, not a SQL function: a SQL function whose body has a subquery is
-- not inlined, and is parsed and planned again at every call.

-- The compliance period whose price corridor is in force on a day (§1): the one whose surrender deadline comes
-- next; after the last deadline, the latest period's.
CREATE OR REPLACE FUNCTION gx_price_corridor(p_day date) RETURNS bigint AS $$
BEGIN
  RETURN COALESCE(
    (SELECT id FROM accounts_complianceperiod WHERE surrender_deadline >= p_day ORDER BY surrender_deadline LIMIT 1),
    (SELECT id FROM accounts_complianceperiod ORDER BY fiscal_year DESC LIMIT 1));
END $$ LANGUAGE plpgsql STABLE;
