-- What each organisation trades as and from (issue 14), kept once here for order entry (market/services/book.py
-- reads it with the participants of a batch) and the Python selectors (market/services/orders.py). A view, so that
-- PostgreSQL plans it into the query that reads it (as a function it ran several statements a participant a batch;
-- benchmarks/README.md, twelfth session). A migration that changes the type of a column it reads drops and creates
-- it again (PostgreSQL refuses otherwise).
--   owner: who an order belongs to for self-trade prevention: the organisation's joint-notification group (as the
--     notifying entity or a close stakeholder), else the organisation;
--   unit_kind, unit_id, unit_number: the account it trades allowances from: a regulated entity's corporate holding
--     account, a specified trading operator's trading account, the first opened (none yet: null id);
--   cash_id, cash_number: its cash account at GXA, the first opened (none yet: null).
CREATE OR REPLACE VIEW gx_market_trading_terms AS
SELECT o.id AS organisation_id,
       COALESCE((SELECT 'group:' || g.id FROM accounts_jointnotificationgroup g WHERE g.notifying_entity_id = o.id),
                (SELECT 'group:' || s.group_id FROM accounts_closestakeholder s WHERE s.entity_id = o.id),
                'organisation:' || o.id) AS owner,
       k.unit_kind, unit.id AS unit_id, unit.number AS unit_number, cash.id AS cash_id, cash.number AS cash_number
  FROM accounts_organisation o
 CROSS JOIN LATERAL (SELECT CASE WHEN o.kind = 'regulated_entity' THEN 'operator_holding' ELSE 'trading' END
                       AS unit_kind) k
  LEFT JOIN LATERAL (SELECT h.id, h.number FROM accounts_holdingaccount h
                      WHERE h.organisation_id = o.id AND h.kind = k.unit_kind ORDER BY h.id LIMIT 1) unit ON true
  LEFT JOIN LATERAL (SELECT h.id, h.number FROM accounts_holdingaccount h
                      WHERE h.organisation_id = o.id AND h.kind = 'market_cash' ORDER BY h.id LIMIT 1) cash ON true;
