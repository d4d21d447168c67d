"""The count of changes of an instrument's book, which the order gateway reads to know whether the book it keeps in
memory is still the database's (market/sql/book_version.sql)."""

from pathlib import Path

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


SQL = Path(__file__).resolve().parent.parent / "sql" / "book_version.sql"


class Migration(migrations.Migration):

    dependencies = [
        ('market', '0011_trades_settled_a_batch_at_a_time'),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(
            model_name='instrument',
            name='update_update',
        ),
        migrations.AddField(
            model_name='instrument',
            name='book_version',
            field=models.BigIntegerField(default=0, editable=False, verbose_name='changes of the book'),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name='instrument',
            trigger=pgtrigger.compiler.Trigger(name='update_update', sql=pgtrigger.compiler.UpsertTriggerSql(condition='WHEN (OLD."code" IS DISTINCT FROM (NEW."code") OR OLD."created_by_id" IS DISTINCT FROM (NEW."created_by_id") OR OLD."halted_until" IS DISTINCT FROM (NEW."halted_until") OR OLD."id" IS DISTINCT FROM (NEW."id") OR OLD."lot" IS DISTINCT FROM (NEW."lot") OR OLD."opens_on" IS DISTINCT FROM (NEW."opens_on") OR OLD."session_closes_at" IS DISTINCT FROM (NEW."session_closes_at") OR OLD."session_opens_at" IS DISTINCT FROM (NEW."session_opens_at") OR OLD."tick_yen" IS DISTINCT FROM (NEW."tick_yen") OR OLD."vintage" IS DISTINCT FROM (NEW."vintage"))', func='INSERT INTO "market_instrumenthistory" ("code", "created_by_id", "halted_until", "id", "lot", "opens_on", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "session_closes_at", "session_opens_at", "tick_yen", "vintage") VALUES (NEW."code", NEW."created_by_id", NEW."halted_until", NEW."id", NEW."lot", NEW."opens_on", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."session_closes_at", NEW."session_opens_at", NEW."tick_yen", NEW."vintage"); RETURN NULL;', hash='e4198183ccac0a1f2e2d40f4cd9127fe21a5029c', operation='UPDATE', pgid='pgtrigger_update_update_520b8', table='market_instrument', when='AFTER')),
        ),
        migrations.RunSQL(SQL.read_text(), """
            DROP TRIGGER market_order_book_changed_insert ON market_order;
            DROP TRIGGER market_order_book_changed_update ON market_order;
            DROP FUNCTION gx_market_book_changed();"""),
    ]
