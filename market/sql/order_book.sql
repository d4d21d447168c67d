-- The order book in the database (issue 14; docs/market.md "How an order is entered"): entry and matching run
-- inside PostgreSQL, one round trip per order, because every order on an instrument waits for that instrument's
-- lock and the lock is held only as long as the database's own work. market/engine/matching.py is the reference
-- model these functions are tested against (market/tests/test_order_book_model.py). Refusals are raised with
-- SQLSTATE class GX1 and a JSON detail, which market.services.orders turns into the user's message.
-- The rules below that the Python selectors read too are PL/pgSQL, not SQL functions: a SQL function whose body
-- has a subquery is not inlined, and is parsed and planned again at every call (a sixth of an order's time).

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

-- The refusal of an order whose account holds too few units free of reservations (GX001, as the ledger refuses).
CREATE OR REPLACE FUNCTION gx_market_refuse_too_few(p_account bigint, p_unit_type text, p_vintage int,
                                                    p_quantity bigint, p_field text) RETURNS void AS $$
DECLARE
  v_row record;
BEGIN
  SELECT h.number, COALESCE(b.quantity - b.reserved, 0) AS held, COALESCE(b.reserved, 0) AS reserved INTO v_row
    FROM accounts_holdingaccount h
    LEFT JOIN accounts_balance b ON b.account_id = h.id AND b.unit_type = p_unit_type AND b.vintage = p_vintage
                                AND b.credit_batch_id IS NULL
   WHERE h.id = p_account;
  RAISE EXCEPTION 'account % holds too few units', v_row.number USING ERRCODE = 'GX001',
    DETAIL = json_build_object('number', v_row.number, 'held', v_row.held, 'reserved', v_row.reserved,
                               'asked', p_quantity, 'unit_type', p_unit_type, 'vintage', p_vintage,
                               'batch', NULL, 'field', p_field)::text;
END $$ LANGUAGE plpgsql;

-- Take (p_quantity > 0) or give back (< 0) a reservation on a balance; taking more than is free is refused.
CREATE OR REPLACE FUNCTION gx_market_reserve(p_account bigint, p_unit_type text, p_vintage int, p_quantity bigint,
                                             p_field text) RETURNS void AS $$
BEGIN
  IF p_quantity = 0 THEN
    RETURN;
  END IF;
  UPDATE accounts_balance SET reserved = reserved + p_quantity
   WHERE account_id = p_account AND unit_type = p_unit_type AND vintage = p_vintage AND credit_batch_id IS NULL
     AND (p_quantity < 0 OR quantity >= reserved + p_quantity);
  IF NOT FOUND THEN
    PERFORM gx_market_refuse_too_few(p_account, p_unit_type, p_vintage, p_quantity, p_field);
  END IF;
END $$ LANGUAGE plpgsql;

-- Refused as gx_market_reserve refuses unless p_quantity is free, without taking it: an entering order's fills are
-- settled from what is free, and only what rests of it is reserved afterwards (no write of the balance to reserve
-- what then fills, nor one a fill to give it back).
CREATE OR REPLACE FUNCTION gx_market_check_free(p_account bigint, p_unit_type text, p_vintage int,
                                                p_quantity bigint, p_field text) RETURNS void AS $$
BEGIN
  PERFORM 1 FROM accounts_balance
   WHERE account_id = p_account AND unit_type = p_unit_type AND vintage = p_vintage AND credit_batch_id IS NULL
     AND quantity - reserved >= p_quantity;
  IF NOT FOUND THEN
    PERFORM gx_market_refuse_too_few(p_account, p_unit_type, p_vintage, p_quantity, p_field);
  END IF;
END $$ LANGUAGE plpgsql;

-- Fill an order (on the book already, or entering: p_in, not yet written) against the other side of the book:
-- price-time priority, each trade at the resting order's price, each settled by the ledger's booking function
-- (units against yen, one ledger transaction), self-trade prevention and the price band as in the reference model;
-- the instrument's row is locked by the caller. The resting orders are updated and their reservations given back
-- as they fill; the incoming order's own are given back too when p_in_reserved (an order on the book), and the
-- incoming order itself is left to the caller. Returns how much of it is left and why matching stopped
-- ('filled', 'no_more_match', 'self_trade', 'price_band'), the trades and their ledger transactions, and whether
-- the instrument halted.
CREATE OR REPLACE FUNCTION gx_market_fill(
  p_in market_order, p_in_reserved boolean, p_now timestamptz, p_booked_by bigint,
  OUT o_left bigint, OUT o_stop text, OUT o_trade_ids bigint[], OUT o_booking_ids bigint[], OUT o_halted boolean
) AS $$
DECLARE
  v_in market_order := p_in;
  v_rest market_order;
  v_buy market_order;
  v_sell market_order;
  v_vintage int;
  v_code text;
  v_params record;
  v_low numeric;
  v_high numeric;
  v_fill bigint;
  v_key text;
  v_note text;
  v_booking bigint;
  v_trade bigint;
  v_book refcursor;
BEGIN
  o_trade_ids := '{}';
  o_booking_ids := '{}';
  o_halted := false;
  o_stop := 'no_more_match';
  SELECT i.vintage, i.code INTO STRICT v_vintage, v_code FROM market_instrument i WHERE i.id = v_in.instrument_id;
  SELECT reference_price_yen, band_percent, halt_minutes INTO v_params FROM market_instrumentparameters
   WHERE instrument_id = v_in.instrument_id AND effective_from <= p_now ORDER BY effective_from DESC LIMIT 1;
  IF FOUND THEN  -- whole yen inside the band (InstrumentParameters.band)
    v_low := ceil(v_params.reference_price_yen - v_params.reference_price_yen * v_params.band_percent / 100);
    v_high := floor(v_params.reference_price_yen + v_params.reference_price_yen * v_params.band_percent / 100);
  END IF;
  -- The other side's crossing orders, best first: each query follows the book's index (market_order_book).
  IF v_in.side = 'buy' THEN
    OPEN v_book FOR SELECT * FROM market_order o
      WHERE o.instrument_id = v_in.instrument_id AND o.side = 'sell' AND o.status = 'open'
        AND o.price_yen <= v_in.price_yen ORDER BY o.price_yen, o.sequence;
  ELSE
    OPEN v_book FOR SELECT * FROM market_order o
      WHERE o.instrument_id = v_in.instrument_id AND o.side = 'buy' AND o.status = 'open'
        AND o.price_yen >= v_in.price_yen ORDER BY o.price_yen DESC, o.sequence;
  END IF;
  o_left := v_in.remaining;
  LOOP
    EXIT WHEN o_left = 0;
    FETCH v_book INTO v_rest;
    EXIT WHEN NOT FOUND;
    IF v_rest.owner = v_in.owner THEN
      o_stop := 'self_trade';
      EXIT;
    END IF;
    IF v_low IS NOT NULL AND NOT v_rest.price_yen BETWEEN v_low AND v_high THEN
      o_stop := 'price_band';
      EXIT;
    END IF;
    v_fill := least(o_left, v_rest.remaining);
    IF v_in.side = 'buy' THEN
      v_buy := v_in;
      v_sell := v_rest;
    ELSE
      v_buy := v_rest;
      v_sell := v_in;
    END IF;
    -- The reservations this fill releases (the buy order's at its own limit; the resting order's always, the
    -- incoming order's if it has one), then units against yen.
    IF v_in.side = 'buy' OR p_in_reserved THEN
      PERFORM gx_market_reserve(v_sell.unit_account_id, 'allowance', v_vintage, -v_fill, 'quantity');
    END IF;
    IF v_in.side = 'sell' OR p_in_reserved THEN
      PERFORM gx_market_reserve(v_buy.cash_account_id, 'yen', 0, -v_fill * v_buy.price_yen, 'price_yen');
    END IF;
    v_key := format('trade-%s-%s-%s', v_in.id, v_in.sequence, v_rest.id);
    v_note := format('%s %s @ %s', v_code, v_fill, v_rest.price_yen);
    SELECT b.o_transaction_id INTO v_booking FROM gx_ledger_book(
      'trade', v_key,
      encode(sha256(convert_to(format('trade %s %s %s %s %s %s %s', v_sell.unit_account_id, v_buy.unit_account_id,
                                      v_buy.cash_account_id, v_sell.cash_account_id, v_vintage, v_fill,
                                      v_rest.price_yen), 'UTF8')), 'hex'),
      v_note, p_booked_by, NULL,
      ARRAY[v_sell.unit_account_id, v_buy.cash_account_id], ARRAY[v_buy.unit_account_id, v_sell.cash_account_id],
      ARRAY['allowance', 'yen'], ARRAY[v_vintage, 0], ARRAY[NULL, NULL]::bigint[],
      ARRAY[v_fill, v_fill * v_rest.price_yen]) b;
    INSERT INTO market_trade (instrument_id, buy_order_id, sell_order_id, aggressor, price_yen, quantity,
                              ledger_transaction_id, traded_at)
    VALUES (v_in.instrument_id, v_buy.id, v_sell.id, v_in.side, v_rest.price_yen, v_fill, v_booking, p_now)
    RETURNING id INTO v_trade;
    o_trade_ids := o_trade_ids || v_trade;
    o_booking_ids := o_booking_ids || v_booking;
    UPDATE market_order SET
      remaining = remaining - v_fill,
      status = CASE WHEN remaining = v_fill THEN 'filled' ELSE status END,
      closed_at = CASE WHEN remaining = v_fill THEN p_now ELSE closed_at END,
      reserved_units = CASE WHEN side = 'sell' THEN remaining - v_fill ELSE 0 END,
      reserved_yen = CASE WHEN side = 'buy' THEN (remaining - v_fill) * price_yen ELSE 0 END
     WHERE id = v_rest.id;
    o_left := o_left - v_fill;
  END LOOP;
  CLOSE v_book;
  IF o_left = 0 THEN
    o_stop := 'filled';
  END IF;
  IF o_stop = 'price_band' THEN
    UPDATE market_instrument SET halted_until = p_now + make_interval(mins => v_params.halt_minutes)
     WHERE id = v_in.instrument_id;
    o_halted := true;
  END IF;
END $$ LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan;

-- An order's status once matching stopped: filled, resting on the book, or its rest cancelled (self-trade, band).
CREATE OR REPLACE FUNCTION gx_market_order_status(p_stop text) RETURNS text AS $$
  SELECT CASE p_stop WHEN 'filled' THEN 'filled' WHEN 'no_more_match' THEN 'open' ELSE 'cancelled' END
$$ LANGUAGE sql IMMUTABLE;

-- Why an order's rest was cancelled when matching stopped (a self-trade, the band), or NULL if it was not.
CREATE OR REPLACE FUNCTION gx_market_closed_reason(p_stop text) RETURNS text AS $$
  SELECT CASE WHEN p_stop IN ('self_trade', 'price_band') THEN p_stop END
$$ LANGUAGE sql IMMUTABLE;

-- An order on the book matched again (an amend that changed its price): filled as above, what it reserved given
-- back for what filled, and, if matching stopped at a self-trade or the band, for the rest, which is cancelled.
CREATE OR REPLACE FUNCTION gx_market_match(
  p_order bigint, p_now timestamptz, p_booked_by bigint,
  OUT o_trade_ids bigint[], OUT o_booking_ids bigint[], OUT o_halted boolean
) AS $$
DECLARE
  v_in market_order;
  v_fill record;
BEGIN
  SELECT * INTO STRICT v_in FROM market_order WHERE id = p_order;
  SELECT * INTO v_fill FROM gx_market_fill(v_in, true, p_now, p_booked_by);
  o_trade_ids := v_fill.o_trade_ids;
  o_booking_ids := v_fill.o_booking_ids;
  o_halted := v_fill.o_halted;
  IF gx_market_closed_reason(v_fill.o_stop) IS NOT NULL THEN  -- its rest cancelled
    IF v_in.side = 'sell' THEN
      PERFORM gx_market_reserve(v_in.unit_account_id, 'allowance', (SELECT i.vintage FROM market_instrument i
                                                                     WHERE i.id = v_in.instrument_id),
                                -v_fill.o_left, 'quantity');
    ELSE
      PERFORM gx_market_reserve(v_in.cash_account_id, 'yen', 0, -v_fill.o_left * v_in.price_yen, 'price_yen');
    END IF;
  END IF;
  IF v_fill.o_left <> v_in.remaining OR v_fill.o_stop <> 'no_more_match' THEN
    UPDATE market_order SET
      remaining = v_fill.o_left,
      status = gx_market_order_status(v_fill.o_stop),
      closed_reason = COALESCE(gx_market_closed_reason(v_fill.o_stop), closed_reason),
      closed_at = CASE WHEN v_fill.o_stop = 'no_more_match' THEN NULL ELSE p_now END,
      reserved_units = CASE WHEN v_fill.o_stop = 'no_more_match' AND side = 'sell' THEN v_fill.o_left ELSE 0 END,
      reserved_yen = CASE WHEN v_fill.o_stop = 'no_more_match' AND side = 'buy' THEN v_fill.o_left * price_yen
                          ELSE 0 END
     WHERE id = v_in.id;
  END IF;
END $$ LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan;

-- A participant's limit order: the idempotency key, the participant's state, the session, the corridor and the
-- halt checked, and that its account holds enough to deliver it; then matched, and written as matching left it,
-- with what rests of it reserved. The participant's row serializes its own orders (which makes the key's check
-- safe); the instrument's row serializes the book, and is locked last, so it is held for the matching and the
-- settlement only. Price and quantity are checked against the tick and the lot by the caller (their messages name
-- the instrument's terms).
CREATE OR REPLACE FUNCTION gx_market_order_enter(
  p_participant bigint, p_instrument bigint, p_side text, p_price int, p_quantity bigint, p_time_in_force text,
  p_key text, p_user bigint, p_now timestamptz, p_in_session boolean, p_context_id text, p_context_metadata text,
  OUT o_order_id bigint, OUT o_replayed boolean, OUT o_trade_ids bigint[], OUT o_booking_ids bigint[],
  OUT o_halted boolean
) AS $$
DECLARE
  v_status text;
  v_organisation bigint;
  v_kind text;
  v_existing market_order;
  v_day date := (p_now AT TIME ZONE 'Asia/Tokyo')::date;
  v_period bigint;
  v_upper numeric;
  v_units bigint;
  v_cash bigint;
  v_vintage int;
  v_halted_until timestamptz;
  v_touch int;
  v_reserved_units bigint := 0;
  v_reserved_yen bigint := 0;
  v_in market_order;
  v_fill record;
  v_order_status text;
BEGIN
  o_replayed := false;
  o_halted := false;
  -- The audit context of the service (gxregistry.audit), as pghistory sets it before a statement of Django's.
  PERFORM set_config('pghistory.context_id', p_context_id, true),
          set_config('pghistory.context_metadata', p_context_metadata, true);
  SELECT p.status, p.organisation_id INTO STRICT v_status, v_organisation
    FROM market_participant p WHERE p.id = p_participant FOR NO KEY UPDATE;
  SELECT * INTO v_existing FROM market_order WHERE participant_id = p_participant AND idempotency_key = p_key;
  IF FOUND THEN  -- the same order entered again: what it was and the trades it made on entry
    IF (v_existing.instrument_id, v_existing.side, v_existing.price_yen, v_existing.quantity,
        v_existing.time_in_force) IS DISTINCT FROM (p_instrument, p_side, p_price, p_quantity, p_time_in_force) THEN
      RAISE EXCEPTION 'idempotency key % was used for a different order', p_key USING ERRCODE = 'GX107';
    END IF;
    o_order_id := v_existing.id;
    o_replayed := true;
    SELECT COALESCE(array_agg(t.id ORDER BY t.id), '{}'), COALESCE(array_agg(t.ledger_transaction_id ORDER BY t.id), '{}')
      INTO o_trade_ids, o_booking_ids
      FROM market_trade t WHERE (t.buy_order_id = v_existing.id OR t.sell_order_id = v_existing.id)
                            AND t.aggressor = v_existing.side;
    RETURN;
  END IF;
  IF v_status <> 'active' THEN
    RAISE EXCEPTION 'participant % is %', p_participant, v_status USING ERRCODE = 'GX101',
      DETAIL = json_build_object('status', v_status)::text;
  END IF;
  IF NOT p_in_session THEN
    RAISE EXCEPTION 'out of session' USING ERRCODE = 'GX102';
  END IF;
  v_period := gx_price_corridor(v_day);  -- once, not once per row looked at
  SELECT upper_limit_price_yen INTO v_upper FROM accounts_complianceperiod WHERE id = v_period;
  IF v_upper IS NULL THEN
    RAISE EXCEPTION 'no price corridor' USING ERRCODE = 'GX103';
  END IF;
  IF p_price > v_upper THEN
    RAISE EXCEPTION 'above the upper limit price' USING ERRCODE = 'GX104',
      DETAIL = json_build_object('upper', v_upper)::text;
  END IF;
  v_kind := gx_market_unit_account_kind(v_organisation);
  SELECT h.id INTO v_units FROM accounts_holdingaccount h
   WHERE h.organisation_id = v_organisation AND h.kind = v_kind ORDER BY h.id LIMIT 1;
  IF v_units IS NULL THEN
    RAISE EXCEPTION 'no account to trade from' USING ERRCODE = 'GX105',
      DETAIL = json_build_object('kind', v_kind)::text;
  END IF;
  SELECT h.id INTO v_cash FROM accounts_holdingaccount h WHERE h.organisation_id = v_organisation
                                                            AND h.kind = 'market_cash';
  IF v_cash IS NULL THEN  -- opened by the caller, which then enters the order again
    RAISE EXCEPTION 'no cash account' USING ERRCODE = 'GX106';
  END IF;

  SELECT i.vintage, i.halted_until INTO STRICT v_vintage, v_halted_until FROM market_instrument i
   WHERE i.id = p_instrument FOR NO KEY UPDATE;
  IF v_halted_until > p_now THEN
    RAISE EXCEPTION 'halted' USING ERRCODE = 'GX108', DETAIL = json_build_object('until', v_halted_until)::text;
  END IF;
  -- Enough free to deliver all of it (checked, not taken: its fills settle from what is free, its rest is
  -- reserved once matching stops), and the best price on its own side before it.
  IF p_side = 'sell' THEN
    PERFORM gx_market_check_free(v_units, 'allowance', v_vintage, p_quantity, 'quantity');
    SELECT o.price_yen INTO v_touch FROM market_order o  -- ORDER BY .. LIMIT 1: the index's first entry, always
     WHERE o.instrument_id = p_instrument AND o.side = 'sell' AND o.status = 'open' ORDER BY o.price_yen LIMIT 1;
  ELSE
    PERFORM gx_market_check_free(v_cash, 'yen', 0, p_quantity * p_price, 'price_yen');
    SELECT o.price_yen INTO v_touch FROM market_order o
     WHERE o.instrument_id = p_instrument AND o.side = 'buy' AND o.status = 'open' ORDER BY o.price_yen DESC LIMIT 1;
  END IF;
  -- Matched before it is written, then written once as matching left it (its trades refer to it by its number;
  -- the foreign keys are checked at commit): an order that trades on entry is one row and one audit row, not an
  -- insert and an update with an audit row each.
  v_in.id := nextval('market_order_id_seq');
  v_in.instrument_id := p_instrument;
  v_in.participant_id := p_participant;
  v_in.side := p_side;
  v_in.price_yen := p_price;
  v_in.quantity := p_quantity;
  v_in.remaining := p_quantity;
  v_in.status := 'open';
  v_in.sequence := nextval('market_order_priority');
  v_in.owner := gx_market_owner(v_organisation);
  v_in.unit_account_id := v_units;
  v_in.cash_account_id := v_cash;
  SELECT * INTO v_fill FROM gx_market_fill(v_in, false, p_now, p_user);
  v_order_status := gx_market_order_status(v_fill.o_stop);
  IF v_order_status = 'open' AND p_side = 'sell' THEN
    v_reserved_units := v_fill.o_left;
    PERFORM gx_market_reserve(v_units, 'allowance', v_vintage, v_reserved_units, 'quantity');
  ELSIF v_order_status = 'open' THEN
    v_reserved_yen := v_fill.o_left * p_price;
    PERFORM gx_market_reserve(v_cash, 'yen', 0, v_reserved_yen, 'price_yen');
  END IF;
  INSERT INTO market_order (id, instrument_id, participant_id, side, price_yen, quantity, remaining, status,
                            time_in_force, sequence, owner, unit_account_id, cash_account_id, reserved_units,
                            reserved_yen, trading_day, idempotency_key, entered_by_id, entered_at, closed_at,
                            closed_reason, touch_yen)
  VALUES (v_in.id, p_instrument, p_participant, p_side, p_price, p_quantity, v_fill.o_left, v_order_status,
          p_time_in_force, v_in.sequence, v_in.owner, v_units, v_cash, v_reserved_units, v_reserved_yen, v_day, p_key,
          p_user, p_now, CASE WHEN v_order_status = 'open' THEN NULL ELSE p_now END,
          COALESCE(gx_market_closed_reason(v_fill.o_stop), ''), v_touch);
  o_order_id := v_in.id;
  o_trade_ids := v_fill.o_trade_ids;
  o_booking_ids := v_fill.o_booking_ids;
  o_halted := v_fill.o_halted;
END $$ LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan;
