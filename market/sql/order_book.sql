-- The market's rules that order entry (market/services/book.py, a batch of orders in one statement each) and the
-- Python selectors both read, kept once here (issue 14; docs/market.md "Where an order is entered"). They are
-- PL/pgSQL, not SQL functions: a SQL function whose body has a subquery is not inlined, and is parsed and planned
-- again at every call.

-- The compliance period whose price corridor is in force on a day (§1): the one whose surrender deadline comes
-- next; after the last deadline, the latest period's.
CREATE OR REPLACE FUNCTION gx_price_corridor(p_day date) RETURNS bigint AS $$
BEGIN
  RETURN COALESCE(
    (SELECT id FROM accounts_complianceperiod WHERE surrender_deadline >= p_day ORDER BY surrender_deadline LIMIT 1),
    (SELECT id FROM accounts_complianceperiod ORDER BY fiscal_year DESC LIMIT 1));
END $$ LANGUAGE plpgsql STABLE;

-- Who an order belongs to for self-trade prevention: the organisation's joint-notification group (as the
-- notifying entity or a close stakeholder), else the organisation.
CREATE OR REPLACE FUNCTION gx_market_owner(p_organisation bigint) RETURNS text AS $$
BEGIN
  RETURN COALESCE(
    (SELECT 'group:' || g.id FROM accounts_jointnotificationgroup g WHERE g.notifying_entity_id = p_organisation),
    (SELECT 'group:' || s.group_id FROM accounts_closestakeholder s WHERE s.entity_id = p_organisation),
    'organisation:' || p_organisation);
END $$ LANGUAGE plpgsql STABLE;

-- The kind of account a participant trades allowances from: a regulated entity's corporate holding account, a
-- specified trading operator's trading account.
CREATE OR REPLACE FUNCTION gx_market_unit_account_kind(p_organisation bigint) RETURNS text AS $$
BEGIN
  RETURN (SELECT CASE WHEN kind = 'regulated_entity' THEN 'operator_holding' ELSE 'trading' END
            FROM accounts_organisation WHERE id = p_organisation);
END $$ LANGUAGE plpgsql STABLE;

-- The accounts a participant's organisation trades from: allowances from its corporate holding account (a
-- regulated entity) or trading account (a trading operator), the first opened; yen from its cash account at GXA.
CREATE OR REPLACE FUNCTION gx_market_trading_accounts(
  p_organisation bigint, OUT unit_kind text, OUT unit_id bigint, OUT unit_number text, OUT cash_id bigint,
  OUT cash_number text
) AS $$
BEGIN
  unit_kind := gx_market_unit_account_kind(p_organisation);
  SELECT h.id, h.number INTO unit_id, unit_number FROM accounts_holdingaccount h
   WHERE h.organisation_id = p_organisation AND h.kind = unit_kind ORDER BY h.id LIMIT 1;
  SELECT h.id, h.number INTO cash_id, cash_number FROM accounts_holdingaccount h
   WHERE h.organisation_id = p_organisation AND h.kind = 'market_cash' ORDER BY h.id LIMIT 1;
END $$ LANGUAGE plpgsql STABLE;
