"""What each organisation trades as and from, a view the order gateway's batch reads with its participants instead
of two functions run for each (market/sql/trading_terms.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql" / "trading_terms.sql"


class Migration(migrations.Migration):

    dependencies = [
        ('market', '0013_order_audit_of_peoples_changes'),
    ]

    operations = [
        migrations.RunSQL(
            "DROP FUNCTION IF EXISTS gx_market_trading_accounts(bigint);"
            "DROP FUNCTION IF EXISTS gx_market_unit_account_kind(bigint);"
            "DROP FUNCTION IF EXISTS gx_market_owner(bigint);" + SQL.read_text(),
            "DROP VIEW gx_market_trading_terms;"),
    ]
