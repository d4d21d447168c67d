-- Balances change only through ledger entries (gx_ledger_entries_apply); nothing else writes them, but for
-- ``reserved``: what open market orders hold back, written by the market's services alone (a CHECK keeps it
-- within the quantity; reconciliation compares it with the open orders).
-- is_issuance is set here from the account's kind (which another trigger keeps fixed): the CHECK
-- balance_not_negative_outside_issuance lets only the issuance account's and the market bank's balances go
-- below zero. Yen are held in cash accounts (market_cash, market_bank) and nothing else is.
CREATE OR REPLACE FUNCTION gx_balance_guard() RETURNS trigger AS $$
DECLARE
  v_kind text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'balances are never deleted' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF TG_OP = 'INSERT' THEN
    -- Only the entry trigger (depth 2) inserts a balance with its first entries already added.
    IF (NEW.quantity <> 0 AND pg_trigger_depth() < 2) OR NEW.reserved <> 0 THEN
      RAISE EXCEPTION 'a balance starts at zero; it changes only through ledger entries'
        USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT kind INTO v_kind FROM accounts_holdingaccount WHERE id = NEW.account_id;
    IF (NEW.unit_type = 'yen') <> (v_kind IN ('market_cash', 'market_bank')) THEN
      RAISE EXCEPTION 'a % account cannot hold %', v_kind, NEW.unit_type
        USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    NEW.is_issuance := v_kind IN ('issuance', 'market_bank');
    RETURN NEW;
  END IF;
  IF NEW.account_id <> OLD.account_id OR NEW.unit_type <> OLD.unit_type OR NEW.vintage <> OLD.vintage
     OR NEW.credit_batch_id IS DISTINCT FROM OLD.credit_batch_id OR NEW.is_issuance <> OLD.is_issuance
     -- entries (depth 2) change the quantity only; anyone else, the reservation only
     OR (pg_trigger_depth() < 2 AND NEW.quantity <> OLD.quantity)
     OR (pg_trigger_depth() >= 2 AND NEW.reserved <> OLD.reserved) THEN
    RAISE EXCEPTION 'balances change only through ledger entries' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
