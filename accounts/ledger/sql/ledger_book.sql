-- The ledger's one booking function: every check, lock and insert of a booking in one round trip.
-- Refusals: GX001 too few units, GX002 an account's state, GX003 an idempotency key reused for
-- other content, GX004 a route between account kinds that is not allowed. accounts/ledger/booking.py turns
-- each into a translated message naming the field.
CREATE OR REPLACE FUNCTION gx_ledger_book(
  p_kind text, p_key text, p_hash text, p_note text, p_booked_by bigint, p_reverses bigint,
  p_sources bigint[], p_destinations bigint[], p_types text[], p_vintages int[], p_batches bigint[],
  p_quantities bigint[],
  OUT o_transaction_id bigint, OUT o_booked_at timestamptz, OUT o_replayed boolean
) AS $$
DECLARE
  v_existing record;
  v_row record;
  v_accounts bigint[] := p_sources || p_destinations;
  v_units int;
  v_locked int;
  v_route_kind text;
BEGIN
  INSERT INTO accounts_ledgertransaction AS t (kind, idempotency_key, request_hash, reverses_id, booked_at,
                                               booked_by_id, note)
  VALUES (p_kind, p_key, p_hash, p_reverses, now(), p_booked_by, p_note)
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING t.id, t.booked_at INTO o_transaction_id, o_booked_at;
  IF o_transaction_id IS NULL THEN
    -- The key is taken: a retry of the same booking returns it; other content is refused.
    SELECT t.id, t.booked_at, t.request_hash INTO v_existing
      FROM accounts_ledgertransaction t WHERE t.idempotency_key = p_key;
    IF v_existing.request_hash <> p_hash THEN
      RAISE EXCEPTION 'idempotency key % was used for a different booking', p_key USING ERRCODE = 'GX003';
    END IF;
    o_transaction_id := v_existing.id;
    o_booked_at := v_existing.booked_at;
    o_replayed := true;
    RETURN;
  END IF;
  o_replayed := false;

  -- Accounts share-locked: bookings run side by side, a block or closure (an UPDATE) waits for them.
  PERFORM 1 FROM accounts_holdingaccount WHERE id = ANY(v_accounts) ORDER BY id FOR SHARE;
  -- One look at the moves' accounts: a source that is not open, a closed destination, or a route between
  -- account kinds that accounts/ledger/routes.py does not allow (gx_ledger_route_allowed is generated from it; a
  -- reversal takes the route of the transaction it reverses, backwards). The first problem is reported.
  IF p_kind = 'reversal' THEN
    SELECT t.kind INTO v_route_kind FROM accounts_ledgertransaction t WHERE t.id = p_reverses;
  ELSE
    v_route_kind := p_kind;  -- a plain assignment: PL/pgSQL evaluates it without the executor
  END IF;
  SELECT CASE WHEN src.state <> 'open' THEN 'source' WHEN dst.state = 'closed' THEN 'destination' ELSE 'route' END
           AS problem,
         src.number AS source_number, src.state AS source_state, src.kind AS source_kind,
         dst.number AS destination_number, dst.state AS destination_state, dst.kind AS destination_kind
    INTO v_row
    FROM unnest(p_sources, p_destinations) WITH ORDINALITY AS m(s, d, i)
    JOIN accounts_holdingaccount src ON src.id = m.s
    JOIN accounts_holdingaccount dst ON dst.id = m.d
   WHERE src.state <> 'open' OR dst.state = 'closed'
      OR NOT COALESCE(gx_ledger_route_allowed(v_route_kind,
                                              CASE WHEN p_kind = 'reversal' THEN dst.kind ELSE src.kind END,
                                              CASE WHEN p_kind = 'reversal' THEN src.kind ELSE dst.kind END), false)
   ORDER BY src.state <> 'open' DESC, dst.state = 'closed' DESC, m.i
   LIMIT 1;
  IF FOUND AND v_row.problem = 'source' THEN
    RAISE EXCEPTION 'account % cannot send units', v_row.source_number USING ERRCODE = 'GX002',
      DETAIL = json_build_object('field', 'source', 'number', v_row.source_number, 'state', v_row.source_state)::text;
  ELSIF FOUND AND v_row.problem = 'destination' THEN
    RAISE EXCEPTION 'account % cannot receive units', v_row.destination_number USING ERRCODE = 'GX002',
      DETAIL = json_build_object('field', 'destination', 'number', v_row.destination_number,
                                 'state', v_row.destination_state)::text;
  ELSIF FOUND THEN
    RAISE EXCEPTION 'a % may not move units from a % account to a % account', p_kind, v_row.source_kind,
      v_row.destination_kind USING ERRCODE = 'GX004',
      DETAIL = json_build_object('kind', p_kind, 'source_kind', v_row.source_kind,
                                 'destination_kind', v_row.destination_kind)::text;
  END IF;

  -- Balances locked in one fixed order, so opposite transfers cannot deadlock. A unit an account
  -- has never held gets its row (at zero) first; the lock is then taken again to include it.
  SELECT count(DISTINCT (k.a, k.t, k.v, COALESCE(k.b, 0))) INTO v_units
    FROM unnest(v_accounts, p_types || p_types, p_vintages || p_vintages, p_batches || p_batches) AS k(a, t, v, b);
  FOR attempt IN 1..2 LOOP
    SELECT count(*) INTO v_locked FROM (
      SELECT 1 FROM accounts_balance bal
       WHERE bal.account_id = ANY(v_accounts)
         AND EXISTS (SELECT 1 FROM unnest(v_accounts, p_types || p_types, p_vintages || p_vintages,
                                          p_batches || p_batches) AS k(a, t, v, b)
                      WHERE k.a = bal.account_id AND k.t = bal.unit_type AND k.v = bal.vintage
                        AND k.b IS NOT DISTINCT FROM bal.credit_batch_id)
       ORDER BY bal.account_id, bal.unit_type, bal.vintage, bal.credit_batch_id NULLS FIRST
         FOR UPDATE OF bal) AS locked;
    EXIT WHEN v_locked = v_units;
    INSERT INTO accounts_balance (account_id, unit_type, vintage, credit_batch_id, quantity, is_issuance)
    SELECT DISTINCT k.a, k.t, k.v, k.b, 0, false
      FROM unnest(v_accounts, p_types || p_types, p_vintages || p_vintages, p_batches || p_batches) AS k(a, t, v, b)
     ORDER BY 1, 2, 3, 4
    ON CONFLICT ON CONSTRAINT balance_one_row_per_unit DO NOTHING;
  END LOOP;

  -- Enough units free of market orders' reservations: every account but the issuance account and the market
  -- bank (whose negative balances are what they sent in).
  SELECT bal.account_id, bal.quantity - bal.reserved AS held, bal.reserved, n.need, n.t, n.v, n.b INTO v_row
    FROM (SELECT a, t, v, b, SUM(q) AS need
            FROM unnest(p_sources, p_types, p_vintages, p_batches, p_quantities) AS m(a, t, v, b, q)
           GROUP BY 1, 2, 3, 4) n
    JOIN accounts_balance bal ON bal.account_id = n.a AND bal.unit_type = n.t AND bal.vintage = n.v
                             AND bal.credit_batch_id IS NOT DISTINCT FROM n.b
   WHERE bal.account_id = ANY(p_sources) AND NOT bal.is_issuance AND bal.quantity - bal.reserved < n.need
   ORDER BY n.a LIMIT 1;
  IF FOUND THEN
    SELECT h.number INTO v_existing FROM accounts_holdingaccount h WHERE h.id = v_row.account_id;
    RAISE EXCEPTION 'account % holds too few units', v_existing.number USING ERRCODE = 'GX001',
      DETAIL = json_build_object('number', v_existing.number, 'held', v_row.held, 'reserved', v_row.reserved,
                                 'asked', v_row.need,
                                 'unit_type', v_row.t, 'vintage', v_row.v, 'batch', v_row.b)::text;
  END IF;

  -- The entries: the statement trigger checks the zero sum and adds them to balances and the daily rollup.
  INSERT INTO accounts_ledgerentry (transaction_id, account_id, unit_type, vintage, credit_batch_id, quantity)
  SELECT o_transaction_id, CASE WHEN side.n = 0 THEN m.s ELSE m.d END, m.t, m.v, m.b,
         CASE WHEN side.n = 0 THEN -m.q ELSE m.q END
    FROM unnest(p_sources, p_destinations, p_types, p_vintages, p_batches, p_quantities)
         WITH ORDINALITY AS m(s, d, t, v, b, q, i)
   CROSS JOIN (VALUES (0), (1)) AS side(n)
   ORDER BY m.i, side.n;
END $$ LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan;  -- no re-planning per call
