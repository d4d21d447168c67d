"""A company's holdings and transaction history pages."""

import io

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import ledger
from accounts.models import HoldingAccount
from accounts.roles import Role
from accounts.services import system_actor
from accounts.tests.ledger_fixtures import funded, key

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer_with_account(make_user):
    viewer = make_user(Role.VIEWER)
    organisation = viewer.memberships.get().organisation
    account = ledger.holding_account_open(acting_user=system_actor(), kind=HoldingAccount.Kind.OPERATOR_HOLDING, organisation=organisation)
    ledger.issue_allowances(vintage=2026, quantity=1000, idempotency_key=key())
    ledger.allocation_transfer(account=account, vintage=2026, quantity=1000, idempotency_key=key())
    return viewer, account


def transfers(account, count):
    other = funded(1)
    for _ in range(count):
        ledger.transfer_units(source=account, destination=other, unit=ledger.allowance(2026), quantity=1,
                              idempotency_key=key())


def test_holdings_page_shows_balances_chart_and_recent_transactions(viewer_with_account, signed_in, client):
    viewer, account = viewer_with_account
    transfers(account, 3)
    signed_in(viewer)
    page = client.get(reverse("holding_account_detail", args=[account.pk])).text
    assert "997" in page and "FY2026" in page
    assert '<polyline class="line"' in page
    assert page.count("Transfer") >= 3


def test_history_filters_and_exports(viewer_with_account, signed_in, client):
    viewer, account = viewer_with_account
    transfers(account, 3)
    signed_in(viewer)
    url = reverse("holding_account_history", args=[account.pk])
    only_allocation = client.get(url, {"kind": "allocation"})
    assert only_allocation.context["entries"].__len__() == 1
    csv = client.get(url, {"kind": "transfer", "export": "csv"})
    assert csv["Content-Disposition"].endswith('-transactions.csv"')
    text = csv.content.decode("utf-8-sig").splitlines()
    assert text[0].startswith("transaction,booked_at_jst,kind") and len(text) == 4
    xlsx = client.get(url, {"export": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 5  # header + allocation + 3 transfers


def test_history_rejects_a_bad_filter_value_naming_the_field(viewer_with_account, signed_in, client):
    viewer, account = viewer_with_account
    signed_in(viewer)
    response = client.get(reverse("holding_account_history", args=[account.pk]), {"vintage": "abc"})
    assert "vintage" in response.context["filter"].form.errors
    assert len(response.context["entries"]) == 0  # nothing selected, rather than everything
    export = client.get(reverse("holding_account_history", args=[account.pk]),
                        {"booked_from": "2026-13-45", "export": "csv"})
    assert len(export.content.decode("utf-8-sig").splitlines()) == 1  # the header only


@pytest.mark.parametrize("name", ["holding_account_detail", "holding_account_history"])
def test_queries_per_page_do_not_grow_with_transactions(name, viewer_with_account, signed_in, client):
    viewer, account = viewer_with_account
    signed_in(viewer)
    url = reverse(name, args=[account.pk])

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured.captured_queries)

    transfers(account, 2)
    few = queries()
    transfers(account, 40)
    assert queries() == few


def test_a_balance_with_one_day_of_history_is_drawn_as_a_level_line():
    from datetime import date

    from accounts.templatetags.registry import step_chart

    svg = str(step_chart([(date(2026, 11, 24), 1500)]))
    points = svg.split('points="')[1].split('"')[0].split()
    assert len(points) == 2 and points[0].split(",")[1] == points[1].split(",")[1]
    assert "1,500 t" in svg
    # Right-aligned labels end inside the frame, not on its edge where the border cuts their last letter.
    import re

    ends = [float(x) for x in re.findall(r'<text[^>]*x="([\d.]+)"[^>]*text-anchor="end"', svg)]
    assert ends and max(ends) <= 476


def test_the_emissions_bar_chart_names_its_unit_on_the_chart_not_only_in_tooltips():
    import re

    from accounts.templatetags.registry import bar_chart

    svg = str(bar_chart([(2026, 120_000), (2027, 95_000)]))
    visible = [re.sub(r"<[^>]+>", "", text) for text in re.findall(r"<text[^>]*>.*?</text>", svg)]
    assert "t-CO2" in visible
    assert "120,000" in visible and "95,000" in visible
