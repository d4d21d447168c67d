"""Conservation for every account, routes between account kinds, reversal requests (issue 10).

- Only the issuance account may go below zero (its negative balance is what was issued): the balance
  flag becomes ``is_issuance`` and the CHECK allows a negative balance for it alone. A registry whose
  allocation reserve or cancellation account already went below zero fails here, as it should.
- ``gx_ledger_route_allowed`` is generated from ``accounts/routes.py``; the booking function refuses
  any other route (GX004). A function, not a table, so no flush or bulk delete can empty it.
- The booking function, the entry trigger and the balance guard are loaded from ``accounts/ledger/sql/``,
  where their current bodies are kept; a later change to them comes with a migration that reloads them.
"""

from pathlib import Path

import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


SQL = Path(__file__).resolve().parent.parent / "ledger" / "sql"


def sql(name: str) -> str:
    return (SQL / name).read_text()


SET_IS_ISSUANCE = """
ALTER TABLE accounts_balance DISABLE TRIGGER gx_balance_guard;
UPDATE accounts_balance b SET is_issuance = (h.kind = 'issuance') FROM accounts_holdingaccount h WHERE h.id = b.account_id;
ALTER TABLE accounts_balance ENABLE TRIGGER gx_balance_guard;
"""


def route_function() -> str:
    """gx_ledger_route_allowed, generated from accounts/routes.py as it is when this migration runs."""
    from accounts.ledger.routes import route_function_sql

    return route_function_sql()


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0014_booking_request_account_help'),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name='bookingrequest',
            name='insert_insert',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='bookingrequest',
            name='update_update',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='bookingrequest',
            name='delete_delete',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='holdingaccount',
            name='insert_insert',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='holdingaccount',
            name='update_update',
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name='holdingaccount',
            name='delete_delete',
        ),
        migrations.RemoveConstraint(
            model_name='balance',
            name='balance_not_negative_outside_government',
        ),
        migrations.RenameField(
            model_name='balance',
            old_name='is_government',
            new_name='is_issuance',
        ),
        migrations.RunSQL(sql("balance_guard.sql") + SET_IS_ISSUANCE, migrations.RunSQL.noop),
        migrations.AddField(
            model_name='bookingrequest',
            name='reverses',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reversal_requests', to='accounts.ledgertransaction', verbose_name='transaction to reverse'),
        ),
        migrations.AddField(
            model_name='bookingrequesthistory',
            name='reverses',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', related_query_name='+', to='accounts.ledgertransaction', verbose_name='transaction to reverse'),
        ),
        migrations.AddField(
            model_name='holdingaccount',
            name='trusted_only',
            field=models.BooleanField(default=False, help_text='When set, transfers out of this account may go only to accounts on its trusted list.', verbose_name='sends only to trusted accounts'),
        ),
        migrations.AddField(
            model_name='holdingaccounthistory',
            name='trusted_only',
            field=models.BooleanField(default=False, help_text='When set, transfers out of this account may go only to accounts on its trusted list.', verbose_name='sends only to trusted accounts'),
        ),
        migrations.AlterField(
            model_name='bookingrequest',
            name='kind',
            field=models.CharField(choices=[('issuance', 'Issuance'), ('cancellation', 'Cancellation'), ('reversal', 'Reversal')], max_length=16, verbose_name='kind'),
        ),
        migrations.AlterField(
            model_name='bookingrequesthistory',
            name='kind',
            field=models.CharField(choices=[('issuance', 'Issuance'), ('cancellation', 'Cancellation'), ('reversal', 'Reversal')], max_length=16, verbose_name='kind'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='bookingrequest',
            trigger=pgtrigger.compiler.Trigger(name='insert_insert', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "accounts_bookingrequesthistory" ("account_id", "credit_batch_id", "credit_eligible", "decided_at", "decided_by_id", "failure", "id", "kind", "ledger_transaction_id", "origin", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "quantity", "reason", "requested_at", "requested_by_id", "reverses_id", "serial_end", "serial_start", "status", "unit_type", "vintage") VALUES (NEW."account_id", NEW."credit_batch_id", NEW."credit_eligible", NEW."decided_at", NEW."decided_by_id", NEW."failure", NEW."id", NEW."kind", NEW."ledger_transaction_id", NEW."origin", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."quantity", NEW."reason", NEW."requested_at", NEW."requested_by_id", NEW."reverses_id", NEW."serial_end", NEW."serial_start", NEW."status", NEW."unit_type", NEW."vintage"); RETURN NULL;', hash='f060a1882cf25fa914ab3b43f315ef035fe25864', operation='INSERT', pgid='pgtrigger_insert_insert_93469', table='accounts_bookingrequest', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='bookingrequest',
            trigger=pgtrigger.compiler.Trigger(name='update_update', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD.* IS DISTINCT FROM NEW.*)', func='INSERT INTO "accounts_bookingrequesthistory" ("account_id", "credit_batch_id", "credit_eligible", "decided_at", "decided_by_id", "failure", "id", "kind", "ledger_transaction_id", "origin", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "quantity", "reason", "requested_at", "requested_by_id", "reverses_id", "serial_end", "serial_start", "status", "unit_type", "vintage") VALUES (NEW."account_id", NEW."credit_batch_id", NEW."credit_eligible", NEW."decided_at", NEW."decided_by_id", NEW."failure", NEW."id", NEW."kind", NEW."ledger_transaction_id", NEW."origin", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."quantity", NEW."reason", NEW."requested_at", NEW."requested_by_id", NEW."reverses_id", NEW."serial_end", NEW."serial_start", NEW."status", NEW."unit_type", NEW."vintage"); RETURN NULL;', hash='3d29d27ee3999889d630119fc2b7ddd751305cc8', operation='UPDATE', pgid='pgtrigger_update_update_e8e7d', table='accounts_bookingrequest', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='bookingrequest',
            trigger=pgtrigger.compiler.Trigger(name='delete_delete', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "accounts_bookingrequesthistory" ("account_id", "credit_batch_id", "credit_eligible", "decided_at", "decided_by_id", "failure", "id", "kind", "ledger_transaction_id", "origin", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "quantity", "reason", "requested_at", "requested_by_id", "reverses_id", "serial_end", "serial_start", "status", "unit_type", "vintage") VALUES (OLD."account_id", OLD."credit_batch_id", OLD."credit_eligible", OLD."decided_at", OLD."decided_by_id", OLD."failure", OLD."id", OLD."kind", OLD."ledger_transaction_id", OLD."origin", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."quantity", OLD."reason", OLD."requested_at", OLD."requested_by_id", OLD."reverses_id", OLD."serial_end", OLD."serial_start", OLD."status", OLD."unit_type", OLD."vintage"); RETURN NULL;', hash='255f49507a0e37542711d225a3dfe28bc548d4a0', operation='DELETE', pgid='pgtrigger_delete_delete_42289', table='accounts_bookingrequest', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='holdingaccount',
            trigger=pgtrigger.compiler.Trigger(name='insert_insert', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "accounts_holdingaccounthistory" ("created_at", "id", "kind", "name", "number", "organisation_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "state", "state_reason", "trusted_only") VALUES (NEW."created_at", NEW."id", NEW."kind", NEW."name", NEW."number", NEW."organisation_id", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."state", NEW."state_reason", NEW."trusted_only"); RETURN NULL;', hash='636b311b0dccbe9a076be17c727a93fd9b143857', operation='INSERT', pgid='pgtrigger_insert_insert_9569e', table='accounts_holdingaccount', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='holdingaccount',
            trigger=pgtrigger.compiler.Trigger(name='update_update', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD.* IS DISTINCT FROM NEW.*)', func='INSERT INTO "accounts_holdingaccounthistory" ("created_at", "id", "kind", "name", "number", "organisation_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "state", "state_reason", "trusted_only") VALUES (NEW."created_at", NEW."id", NEW."kind", NEW."name", NEW."number", NEW."organisation_id", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."state", NEW."state_reason", NEW."trusted_only"); RETURN NULL;', hash='b4158a7aa244efd9160b8ae460e3e258c38b31ee', operation='UPDATE', pgid='pgtrigger_update_update_b14cb', table='accounts_holdingaccount', when='AFTER')),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='holdingaccount',
            trigger=pgtrigger.compiler.Trigger(name='delete_delete', sql=pgtrigger.compiler.UpsertTriggerSql(func='INSERT INTO "accounts_holdingaccounthistory" ("created_at", "id", "kind", "name", "number", "organisation_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "state", "state_reason", "trusted_only") VALUES (OLD."created_at", OLD."id", OLD."kind", OLD."name", OLD."number", OLD."organisation_id", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."state", OLD."state_reason", OLD."trusted_only"); RETURN NULL;', hash='cdb83e9f2b110f5c674c9b4d84cc6681a7b0fd4d', operation='DELETE', pgid='pgtrigger_delete_delete_a5946', table='accounts_holdingaccount', when='AFTER')),
        ),
        migrations.AddConstraint(
            model_name='balance',
            constraint=models.CheckConstraint(condition=models.Q(('quantity__gte', 0), ('is_issuance', True), _connector='OR'), name='balance_not_negative_outside_issuance'),
        ),
        migrations.AddConstraint(
            model_name='bookingrequest',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'reversal'), ('reverses__isnull', False)), models.Q(models.Q(('kind', 'reversal'), _negated=True), ('reverses__isnull', True)), _connector='OR'), name='booking_request_reversal_names_its_transaction'),
        ),
        migrations.AddConstraint(
            model_name='bookingrequest',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'issuance'), ('status', 'awaiting_approval'), ('unit_type', 'allowance')), fields=('vintage',), name='booking_request_one_pending_issuance_per_vintage'),
        ),
        migrations.AddConstraint(
            model_name='bookingrequest',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'awaiting_approval')), fields=('reverses',), name='booking_request_one_pending_reversal'),
        ),
        migrations.RunSQL(route_function(), migrations.RunSQL.noop),
        migrations.RunSQL(sql("ledger_book.sql") + sql("ledger_entries_apply.sql"), migrations.RunSQL.noop),
    ]
