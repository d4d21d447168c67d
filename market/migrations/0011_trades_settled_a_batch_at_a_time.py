"""Orders are entered and matched a batch at a time in Python (market/services/book.py), the trades of a batch
settled by one ledger transaction: the database's entry and matching functions go, a trade's ledger transaction may
be shared (or none, when a batch's trades cancel out), and the accounts a participant trades from are one function
(market/sql/order_book.sql)."""

from pathlib import Path

import django.db.models.deletion
from django.db import migrations, models


SQL = Path(__file__).resolve().parent.parent / "sql" / "order_book.sql"
DROPPED = """
DROP FUNCTION IF EXISTS gx_market_order_enter(bigint, bigint, text, int, bigint, text, text, bigint, timestamptz, boolean,
                                              text, text);
DROP FUNCTION IF EXISTS gx_market_match(bigint, timestamptz, bigint);
DROP FUNCTION IF EXISTS gx_market_fill(market_order, boolean, timestamptz, bigint);
DROP FUNCTION IF EXISTS gx_market_reserve(bigint, text, int, bigint, text);
DROP FUNCTION IF EXISTS gx_market_check_free(bigint, text, int, bigint, text);
DROP FUNCTION IF EXISTS gx_market_refuse_too_few(bigint, text, int, bigint, text);
DROP FUNCTION IF EXISTS gx_market_order_status(text);
DROP FUNCTION IF EXISTS gx_market_closed_reason(text);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0025_route_function_inlined'),
        ('market', '0010_closed_reason_written_once'),
    ]

    operations = [
        migrations.AlterField(
            model_name='trade',
            name='ledger_transaction',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='trades', to='accounts.ledgertransaction', verbose_name='settled by ledger transaction'),
        ),
        migrations.RunSQL(DROPPED + SQL.read_text(), migrations.RunSQL.noop),
    ]
