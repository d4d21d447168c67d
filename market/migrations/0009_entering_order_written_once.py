"""The order book's functions again (market/sql/order_book.sql): an entering order is matched before it is written
and written once, as matching left it, and only what rests of it is reserved (its fills settle from what is free);
the fill loop (gx_market_fill) is shared by entry and by an amend's matching (gx_market_match)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql" / "order_book.sql"


class Migration(migrations.Migration):

    dependencies = [
        ('market', '0008_order_indexes_written_less'),
    ]

    operations = [
        migrations.RunSQL(SQL.read_text(), migrations.RunSQL.noop),
    ]
