"""The order book's functions again (market/sql/order_book.sql): why an order's rest was cancelled is one function
(gx_market_closed_reason), read by an amend's matching and by entry alike."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql" / "order_book.sql"


class Migration(migrations.Migration):

    dependencies = [
        ('market', '0009_entering_order_written_once'),
    ]

    operations = [
        migrations.RunSQL(SQL.read_text(), migrations.RunSQL.noop),
    ]
