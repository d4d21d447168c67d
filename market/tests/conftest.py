"""A market for the pages and the API, which enter orders now: whatever the clock says, the session is open and
today's price corridor is set (the services' own tests cover the hours)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import CompliancePeriod
from market.services import book, orders
from market.tests.test_services_orders import Market


@pytest.fixture
def mkt(make_user, make_organisation):
    """GXA, JPA-2027 with a band, a price corridor; participants made with ``mkt.participant``."""
    return Market(make_user, make_organisation)


@pytest.fixture
def open_market(make_user, make_organisation, monkeypatch):
    world = Market(make_user, make_organisation)
    for module in (orders, book):  # amending checks the session itself; entering checks it with its batch
        monkeypatch.setattr(module, "in_session", lambda instrument, moment: True)
    CompliancePeriod.objects.filter(fiscal_year=2027).update(
        surrender_deadline=timezone.localdate() + timedelta(days=365))
    return world
