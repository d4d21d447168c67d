"""Fixtures shared by every test: organisations, users and roles built with the real services."""

import itertools

import pytest
from django_otp.oath import TOTP, totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.models import Organisation
from accounts.roles import Role
from accounts.validators import synthetic_corporate_number

PASSWORD = "correct-horse-battery-staple-42"
_numbers = itertools.count(5000)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """A test marked long starts first among the tests of its kind.

    pytest-django runs the database tests, then the transactional ones (which empty the tables when done), then the
    rest; its order is kept. Within a kind, pytest-xdist hands the tests out in order, so a long test near the end
    ran alone on one worker while the other had finished (the 4-minute screen walk: ~3 minutes of the suite)."""
    items.sort(key=lambda item: (_django_kind(item), item.get_closest_marker("long") is None))


def _django_kind(item) -> int:
    """pytest-django's order: 0 database, 1 transactional database, 2 no database."""
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    if "transactional_db" in fixtures or "live_server" in fixtures or (
            marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences"))):
        return 1
    return 0 if marker or "db" in fixtures else 2


@pytest.fixture(autouse=True)
def _english_by_default(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def make_organisation(db):
    def make(kind=Organisation.Kind.REGULATED_ENTITY, **fields):
        n = next(_numbers)
        fields.setdefault("name", f"Organisation {n}")
        fields.setdefault("corporate_number", synthetic_corporate_number(n, 9))
        if kind == Organisation.Kind.REGULATED_ENTITY:
            fields.setdefault("sector", "steel")
        return services.organisation_create(kind=kind, acting_user=services.system_actor(), **fields)

    return make


@pytest.fixture
def make_user(db, make_organisation):
    """A user with ``role`` in ``organisation`` (a new one of the right kind by default)."""

    kinds = {
        Role.REGISTRY_ADMINISTRATOR: Organisation.Kind.REGISTRY_ADMINISTRATION,
        Role.MARKET_OPERATOR: Organisation.Kind.MARKET_OPERATOR,
        Role.VERIFIER: Organisation.Kind.VERIFICATION_BODY,
    }

    def make(role=Role.VIEWER, organisation=None, email=None):
        n = next(_numbers)
        organisation = organisation or make_organisation(kinds.get(role, Organisation.Kind.REGULATED_ENTITY))
        system = services.system_actor()
        user = services.user_create(email=email or f"user{n}@example.jp", full_name=f"User {n}", password=PASSWORD,
                                    acting_user=system)
        services.membership_create(user=user, organisation=organisation, role=role, acting_user=system)
        return user

    return make


def enrol_totp(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="test", confirmed=True)


def fresh_code(user) -> str:
    """A new single-use second-factor code for ``user`` (a backup code: TOTP gives one per 30 s)."""
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    device, _created = StaticDevice.objects.get_or_create(user=user, name="test codes", defaults={"confirmed": True})
    return device.token_set.create(token=StaticToken.random_token()).token


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


@pytest.fixture
def signed_in(client):
    """Sign ``user`` in through the real login form and, when required, the TOTP form."""

    def sign_in(user, the_client=None):
        c = the_client or client
        response = c.post("/login/", {"username": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.content[:500]
        from accounts.selectors import requires_second_factor

        if requires_second_factor(user):
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or enrol_totp(user)
            # A TOTP code works once per 30 s: a second sign-in within that step uses a backup code.
            step = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).t()
            code = current_code(device) if device.last_t < step else fresh_code(user)
            response = c.post("/two-factor/verify/", {"otp_token": code})
            assert response.status_code == 302, response.content[:500]
        return c

    return sign_in
