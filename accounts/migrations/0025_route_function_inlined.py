"""``gx_ledger_route_allowed`` as one expression PostgreSQL inlines into the booking's query (it was parsed and
planned at every booking): generated again from ``accounts/ledger/routes.py``."""

from django.db import migrations


def route_function() -> str:
    from accounts.ledger.routes import route_function_sql

    return route_function_sql()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0024_reverse_auction")]

    operations = [migrations.RunSQL(route_function(), migrations.RunSQL.noop)]
