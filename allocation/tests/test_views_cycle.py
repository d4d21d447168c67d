"""The allocation cycle's pages: what a company and METI see and do (the services decide; see test_services_cycle)."""

from datetime import date

import pytest
from django.urls import reverse

from allocation.models import AllocationApplication
from allocation.services import cycle
from allocation.tests.test_services_cycle import Cycle

pytestmark = pytest.mark.django_db


@pytest.fixture
def fy(make_user, make_organisation):
    return Cycle(make_user, make_organisation)


def test_pages_about_an_fy_without_a_compliance_period_are_404(fy, signed_in, client):
    signed_in(fy.reps[0])
    entity = fy.entities[0]
    assert client.get(reverse("compliance", args=[entity.pk, 2026])).status_code == 404
    assert client.get(reverse("allocation_application", args=[entity.pk, 2026])).status_code == 404
    fy.open_period()
    assert client.get(reverse("compliance", args=[entity.pk, 2026])).status_code == 200
    assert client.get(reverse("allocation_application", args=[entity.pk, 2026])).status_code == 200


def test_an_administrator_opens_a_period_on_its_page_and_a_bad_value_names_the_field(fy, signed_in, client):
    signed_in(fy.admin)
    url = reverse("compliance_period_edit", args=[2026])
    data = {"surrender_deadline": "2028-01-31", "upper_limit_price_yen": "4300", "lower_limit_price_yen": "1700",
            "credit_cap_share": "0.10", "gf_process_rate": "0.01",
            "other_parameters": "bm_special_measure_factor = 0.92"}
    refused = client.post(url, {**data, "other_parameters": "nonsense"})
    assert refused.status_code == 200 and "name = value" in refused.content.decode()
    refused = client.post(url, {**data, "other_parameters": "gf_proces_rate = 0.01"})
    assert refused.status_code == 400 and "gf_proces_rate" in refused.content.decode()
    assert cycle.period_or_none(2026) is None
    done = client.post(url, data)
    assert done.status_code == 302 and done.url == reverse("allocation_fiscal_year", args=[2026])
    assert cycle.period_or_none(2026).surrender_deadline == date(2028, 1, 31)
    page = client.get(url).content.decode()
    assert "bm_special_measure_factor = 0.92" in page and 'name="gf_process_rate" value="0.01"' in page


def test_the_company_applies_on_its_page_and_sees_what_it_must_do_on_its_dashboard(fy, signed_in, client):
    fy.open_period()
    signed_in(fy.reps[0])
    url = reverse("allocation_application", args=[fy.entities[0].pk, 2026])
    page = client.get(url).content.decode()
    assert "98,300" in page and 'id="create"' in page  # the engine's result before applying
    assert client.post(url, {"form": "create"}).status_code == 302
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert 'id="todo"' in dashboard and url in dashboard
    assert client.post(url, {"form": "submit"}).status_code == 302
    application = AllocationApplication.objects.get(organisation=fy.entities[0])
    assert application.status == AllocationApplication.Status.SUBMITTED
    cycle.application_review_start(application=application, acting_user=fy.admin)
    cycle.application_return(application=application, message="生産実績を添付してください", acting_user=fy.admin)
    page = client.get(url).content.decode()
    assert "生産実績を添付してください" in page
    assert "Correct and resubmit" in client.get(reverse("dashboard")).content.decode()


def test_the_fy_page_shows_the_run_refusal_with_figures_and_its_progress_as_json(fy, signed_in, client):
    fy.open_period()
    fy.approved(0)
    signed_in(fy.admin)
    url = reverse("allocation_fiscal_year", args=[2026])
    page = client.get(url).content.decode()
    assert 'id="run-refusal"' in page and "98,300" in page  # the reserve holds nothing yet
    assert client.get(url, {"progress": "json"}).json() == {"run": None}
    fy.fund_reserve(100_000)
    assert 'id="run-refusal"' not in client.get(url).content.decode()
