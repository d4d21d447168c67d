"""A correction that lowers an issued allocation returns allowances to the allocation reserve (issue 12):
``gx_ledger_route_allowed`` is generated again from ``accounts/ledger/routes.py``."""

from django.db import migrations


def route_function() -> str:
    from accounts.ledger.routes import route_function_sql

    return route_function_sql()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0018_verified_emissions_source")]

    operations = [migrations.RunSQL(route_function(), migrations.RunSQL.noop)]
