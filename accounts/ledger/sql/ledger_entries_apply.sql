-- Every ledger entry statement: refuse it unless each transaction it touches sums to zero per unit,
-- then add the entries to their balances and to the daily rollup, in one statement.
CREATE OR REPLACE FUNCTION gx_ledger_entries_apply() RETURNS trigger AS $$
DECLARE
  v_unbalanced bigint;
BEGIN
  SELECT n.transaction_id INTO v_unbalanced
    FROM new_entries n
   GROUP BY n.transaction_id, n.unit_type, n.vintage, n.credit_batch_id
  HAVING SUM(n.quantity) <> 0
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger transaction % does not sum to zero per unit', v_unbalanced
      USING ERRCODE = 'check_violation';
  END IF;
  WITH per_day AS (
    SELECT n.account_id, n.unit_type, n.vintage, n.credit_batch_id,
           (t.booked_at AT TIME ZONE 'Asia/Tokyo')::date AS day, SUM(n.quantity) AS change
      FROM new_entries n JOIN accounts_ledgertransaction t ON t.id = n.transaction_id
     GROUP BY 1, 2, 3, 4, 5
  ), per_balance AS (
    SELECT account_id, unit_type, vintage, credit_batch_id, SUM(change) AS change FROM per_day GROUP BY 1, 2, 3, 4
  ), updated AS (
    UPDATE accounts_balance b SET quantity = b.quantity + c.change
      FROM per_balance c
     WHERE b.account_id = c.account_id AND b.unit_type = c.unit_type AND b.vintage = c.vintage
       AND b.credit_batch_id IS NOT DISTINCT FROM c.credit_batch_id
    RETURNING b.id, b.account_id, b.unit_type, b.vintage, b.credit_batch_id
  ), inserted AS (
    -- A unit the account never held (a booking creates the row first; raw SQL may not). Not an
    -- upsert: PostgreSQL checks the CHECK on the proposed row before the conflict.
    INSERT INTO accounts_balance (account_id, unit_type, vintage, credit_batch_id, quantity, is_issuance)
    SELECT c.account_id, c.unit_type, c.vintage, c.credit_batch_id, c.change, false
      FROM per_balance c
     WHERE NOT EXISTS (SELECT 1 FROM updated u WHERE u.account_id = c.account_id AND u.unit_type = c.unit_type
                          AND u.vintage = c.vintage AND u.credit_batch_id IS NOT DISTINCT FROM c.credit_batch_id)
     ORDER BY 1, 2, 3, 4
    RETURNING id, account_id, unit_type, vintage, credit_batch_id
  ), balance AS (
    SELECT * FROM updated UNION ALL SELECT * FROM inserted
  )
  INSERT INTO accounts_dailybalancechange AS d (balance_id, day, change)
  SELECT balance.id, p.day, p.change
    FROM per_day p JOIN balance ON balance.account_id = p.account_id AND balance.unit_type = p.unit_type
                               AND balance.vintage = p.vintage
                               AND balance.credit_batch_id IS NOT DISTINCT FROM p.credit_batch_id
   ORDER BY 1, 2
  ON CONFLICT ON CONSTRAINT daily_balance_change_once DO UPDATE SET change = d.change + EXCLUDED.change;
  RETURN NULL;
END $$ LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan;
