"""The order book's functions again (market/sql/order_book.sql): the rules the Python selectors read too
(corridor, owner, the account traded from) in PL/pgSQL, whose plans are kept, instead of SQL functions parsed and
planned at every call; the corridor looked up once an order."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql" / "order_book.sql"


class Migration(migrations.Migration):

    dependencies = [
        ('market', '0006_order_book_bids_index'),
        ('accounts', '0025_route_function_inlined'),
    ]

    operations = [
        migrations.RunSQL(SQL.read_text(), migrations.RunSQL.noop),
    ]
