"""The database's own guarantees for the ledger (see accounts.models.Balance).

- every ledger entry is added to its balance by a trigger, in the same transaction;
- balances change only that way (a direct UPDATE, DELETE or non-zero INSERT is refused);
- a transaction's entries sum to zero per unit, checked at commit (deferred constraint trigger);
- an account's kind never changes (it decides whether its balances may go below zero).
"""

from django.db import migrations

GOVERNMENT_KINDS = "('issuance', 'allocation_reserve', 'cancellation', 'retirement', 'gxa_auction')"

BALANCE_GUARD = f"""
CREATE OR REPLACE FUNCTION gx_balance_guard() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'balances are never deleted' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF TG_OP = 'INSERT' THEN
    IF NEW.quantity <> 0 THEN
      RAISE EXCEPTION 'a balance starts at zero; it changes only through ledger entries'
        USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    NEW.is_government := (SELECT kind IN {GOVERNMENT_KINDS} FROM accounts_holdingaccount WHERE id = NEW.account_id);
    RETURN NEW;
  END IF;
  IF pg_trigger_depth() < 2 OR NEW.account_id <> OLD.account_id OR NEW.unit_type <> OLD.unit_type
     OR NEW.vintage <> OLD.vintage OR NEW.credit_batch_id IS DISTINCT FROM OLD.credit_batch_id
     OR NEW.is_government <> OLD.is_government THEN
    RAISE EXCEPTION 'balances change only through ledger entries' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

"""

FORWARD = f"""
CREATE OR REPLACE FUNCTION gx_ledger_entry_apply() RETURNS trigger AS $$
BEGIN
  INSERT INTO accounts_balance (account_id, unit_type, vintage, credit_batch_id, quantity, is_government)
  VALUES (NEW.account_id, NEW.unit_type, NEW.vintage, NEW.credit_batch_id, 0, false)
  ON CONFLICT ON CONSTRAINT balance_one_row_per_unit DO NOTHING;
  UPDATE accounts_balance SET quantity = quantity + NEW.quantity
   WHERE account_id = NEW.account_id AND unit_type = NEW.unit_type AND vintage = NEW.vintage
     AND credit_batch_id IS NOT DISTINCT FROM NEW.credit_batch_id;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER gx_ledger_entry_apply AFTER INSERT ON accounts_ledgerentry
  FOR EACH ROW EXECUTE FUNCTION gx_ledger_entry_apply();

""" + BALANCE_GUARD + f"""
CREATE TRIGGER gx_balance_guard BEFORE INSERT OR UPDATE OR DELETE ON accounts_balance
  FOR EACH ROW EXECUTE FUNCTION gx_balance_guard();

CREATE OR REPLACE FUNCTION gx_ledger_transaction_balanced() RETURNS trigger AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM accounts_ledgerentry WHERE transaction_id = NEW.transaction_id
             GROUP BY unit_type, vintage, credit_batch_id HAVING SUM(quantity) <> 0) THEN
    RAISE EXCEPTION 'ledger transaction % does not sum to zero per unit', NEW.transaction_id
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER gx_ledger_transaction_balanced AFTER INSERT ON accounts_ledgerentry
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gx_ledger_transaction_balanced();

CREATE OR REPLACE FUNCTION gx_holding_account_kind_fixed() RETURNS trigger AS $$
BEGIN
  IF NEW.kind <> OLD.kind THEN
    RAISE EXCEPTION 'an account''s kind never changes' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER gx_holding_account_kind_fixed BEFORE UPDATE ON accounts_holdingaccount
  FOR EACH ROW EXECUTE FUNCTION gx_holding_account_kind_fixed();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS gx_holding_account_kind_fixed ON accounts_holdingaccount;
DROP FUNCTION IF EXISTS gx_holding_account_kind_fixed();
DROP TRIGGER IF EXISTS gx_ledger_transaction_balanced ON accounts_ledgerentry;
DROP FUNCTION IF EXISTS gx_ledger_transaction_balanced();
DROP TRIGGER IF EXISTS gx_balance_guard ON accounts_balance;
DROP FUNCTION IF EXISTS gx_balance_guard();
DROP TRIGGER IF EXISTS gx_ledger_entry_apply ON accounts_ledgerentry;
DROP FUNCTION IF EXISTS gx_ledger_entry_apply();
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_ledger")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
