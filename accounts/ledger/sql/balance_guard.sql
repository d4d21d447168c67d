-- Balances change only through ledger entries (gx_ledger_entries_apply); nothing else writes them.
-- is_issuance is set here from the account's kind (which another trigger keeps fixed): the CHECK
-- balance_not_negative_outside_issuance lets only the issuance account's balances go below zero.
CREATE OR REPLACE FUNCTION gx_balance_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'balances are never deleted' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF TG_OP = 'INSERT' THEN
    -- Only the entry trigger (depth 2) inserts a balance with its first entries already added.
    IF NEW.quantity <> 0 AND pg_trigger_depth() < 2 THEN
      RAISE EXCEPTION 'a balance starts at zero; it changes only through ledger entries'
        USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    NEW.is_issuance := (SELECT kind = 'issuance' FROM accounts_holdingaccount WHERE id = NEW.account_id);
    RETURN NEW;
  END IF;
  IF pg_trigger_depth() < 2 OR NEW.account_id <> OLD.account_id OR NEW.unit_type <> OLD.unit_type
     OR NEW.vintage <> OLD.vintage OR NEW.credit_batch_id IS DISTINCT FROM OLD.credit_batch_id
     OR NEW.is_issuance <> OLD.is_issuance THEN
    RAISE EXCEPTION 'balances change only through ledger entries' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
