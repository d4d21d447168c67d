"""Identities for the load test (benchmarks/locustfile.py): companies with an allowance balance and a
representative, administrators, each with fresh single-use second-factor codes, written as JSON.

    GX_DATABASE_NAME=gx_load .venv/bin/python benchmarks/load_prepare.py /tmp/identities.json

``write_identities`` is also what the smoke test in ``make test`` uses.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODES_PER_USER = 400  # sign-ins and transfers over ten minutes


def codes(user, count=CODES_PER_USER) -> list[str]:
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    device, _created = StaticDevice.objects.get_or_create(user=user, name="load test", defaults={"confirmed": True})
    tokens = [StaticToken(device=device, token=StaticToken.random_token()) for _ in range(count)]
    StaticToken.objects.bulk_create(tokens)
    return [token.token for token in tokens]


def write_identities(path, *, password, companies, administrators, searches, codes_per_user=CODES_PER_USER):
    """``companies``: (user, account, destination account) triples; ``administrators``: users."""
    identities = {
        "password": password,
        "searches": searches,
        "companies": [{"email": user.email, "account": account.pk, "destination": destination.number,
                       "unit": f"allowance:{vintage}:", "codes": codes(user, codes_per_user)}
                      for user, account, destination, vintage in companies],
        "administrators": [{"email": user.email, "codes": codes(user, codes_per_user)} for user in administrators],
    }
    Path(path).write_text(json.dumps(identities, ensure_ascii=False))


def main(path):
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gxregistry.settings")
    import django

    django.setup()
    from accounts.models import Balance, HoldingAccount, Membership
    from accounts.roles import Role
    from gxregistry.management.commands.seed_demo import DEMO_PASSWORD

    companies = []
    for membership in (Membership.objects.filter(role=Role.AUTHORISED_REPRESENTATIVE, ended_at__isnull=True,
                                                 organisation__kind="regulated_entity")
                       .select_related("user", "organisation")):
        balance = (Balance.objects.filter(account__organisation=membership.organisation, quantity__gt=100,
                                          account__kind=HoldingAccount.Kind.OPERATOR_HOLDING, unit_type="allowance")
                   .select_related("account").first())
        if balance is not None:
            companies.append((membership.user, balance.account, None, balance.vintage))
    accounts = [account for _user, account, _none, _vintage in companies]
    companies = [(user, account, accounts[(i + 1) % len(accounts)], vintage)
                 for i, (user, account, _none, vintage) in enumerate(companies)]
    administrators = [m.user for m in Membership.objects.filter(role=Role.REGISTRY_ADMINISTRATOR,
                                                                ended_at__isnull=True).select_related("user")]
    write_identities(path, password=DEMO_PASSWORD, companies=companies, administrators=administrators,
                     searches=["日本", "セメント", "entity", "ニッポン", "GX"])
    print(f"{len(companies)} companies, {len(administrators)} administrators -> {path}")


if __name__ == "__main__":
    main(sys.argv[1])
