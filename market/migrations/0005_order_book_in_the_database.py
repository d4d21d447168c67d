"""Order entry and matching as database functions (market/sql/order_book.sql): one round trip per order, so the
instrument's lock is held for the database's work only (issue 14's benchmark)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql" / "order_book.sql"

DROP = """
DROP FUNCTION gx_market_order_enter(bigint, bigint, text, int, bigint, text, text, bigint, timestamptz, boolean, text,
                                    text);
DROP FUNCTION gx_market_match(bigint, timestamptz, bigint);
DROP FUNCTION gx_market_reserve(bigint, text, int, bigint, text);
DROP FUNCTION gx_market_owner(bigint);
DROP FUNCTION gx_market_unit_account_kind(bigint);
DROP FUNCTION gx_price_corridor(date);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('market', '0004_end_of_session_schedule'),
        ('accounts', '0024_reverse_auction'),
    ]

    operations = [
        migrations.RunSQL(SQL.read_text(), DROP),
    ]
