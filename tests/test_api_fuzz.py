"""Schemathesis over the whole OpenAPI schema, with a company representative's token.

Every operation gets generated requests, valid and not: none may answer 5xx, and every answer the
schema documents must match it. Example counts are kept small so `make test` stays fast; raise
GX_FUZZ_EXAMPLES for a longer run.
"""

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from accounts import ledger, services
from accounts.roles import Role

EXAMPLES = int(os.environ.get("GX_FUZZ_EXAMPLES", "12"))


def api_schema():
    """The schema /api/v1/schema/ serves, generated in-process; requests go to the WSGI app in-process."""
    generated = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(_json_safe(generated))
    loaded.app = get_wsgi_application()
    return loaded


def _json_safe(value):
    """drf-spectacular's dict holds lazy strings and the like; the loader wants plain JSON types."""
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


@pytest.fixture(autouse=True)
def _keep_the_tests_connection():
    """As Django's test client does: a request must not close the connection the test's transaction is on."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(make_user):
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE)
    organisation = representative.memberships.get().organisation
    account = ledger.holding_account_open(kind="operator_holding", organisation=organisation,
                                          acting_user=services.system_actor())
    ledger.issue_allowances(vintage=2026, quantity=100, idempotency_key="fuzz-issue")
    ledger.allocation_transfer(account=account, vintage=2026, quantity=100, idempotency_key="fuzz-allocation")
    _instance, clear = services.api_token_create(user=representative, acting_user=representative)
    return clear


schema = api_schema()


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_no_operation_answers_5xx_and_answers_match_the_schema(case, token):
    case.call_and_validate(headers={"Authorization": f"Token {token}"},
                           checks=[not_a_server_error, response_schema_conformance, content_type_conformance])
