"""Errors people and machines meet: JSON everywhere under /api/, pages within the layout elsewhere."""

import pytest
from django.test import Client, override_settings
from django.urls import path

from accounts.roles import Role
from conftest import PASSWORD
from gxregistry import urls as root_urls


def boom(request):
    raise RuntimeError("a fault nobody foresaw")


urlpatterns = [
    *root_urls.urlpatterns,
    path("api/v1/boom/", boom),
    path("boom/", boom),
]
handler404 = root_urls.handler404
handler500 = root_urls.handler500
handler403 = root_urls.handler403
handler400 = root_urls.handler400


@pytest.mark.django_db
def test_an_unknown_api_address_answers_json_404(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_a_fault_in_the_api_answers_json_500_and_a_page_answers_the_500_page():
    client = Client(raise_request_exception=False)
    api = client.get("/api/v1/boom/")
    assert api.status_code == 500 and api.json()["code"] == "server_error"
    page = client.get("/boom/")
    assert page.status_code == 500 and "Something went wrong" in page.text and "nothing was changed" in page.text


@pytest.mark.django_db
def test_a_wrong_method_on_the_api_answers_json_405(make_user, signed_in, client):
    signed_in(make_user(Role.VIEWER))
    response = client.delete("/api/v1/holding-accounts/")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_a_session_without_the_second_factor_gets_json_not_a_redirect_on_the_api(make_user, client):
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE)
    client.post("/login/", {"username": representative.email, "password": PASSWORD})
    response = client.get("/api/v1/holding-accounts/")
    assert response.status_code == 403 and response.json()["code"] == "second_factor_required"
    page = client.get("/dashboard/")
    assert page.status_code == 302  # pages still go to the second-factor form


@pytest.mark.django_db
def test_the_second_factor_redirect_keeps_the_whole_next_address(make_user, client):
    representative = make_user(Role.AUTHORISED_REPRESENTATIVE)
    client.post("/login/", {"username": representative.email, "password": PASSWORD})
    response = client.get("/holding-accounts/1/transactions/?unit_type=allowance&vintage=2026")
    assert "next=%2Fholding-accounts%2F1%2Ftransactions%2F%3Funit_type%3Dallowance%26vintage%3D2026" in response.url


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "title"), [("en", "Page not found"), ("ja", "ページが見つかりません")])
def test_the_404_page_is_in_the_layout_in_either_language(client, language, title):
    client.cookies["django_language"] = language
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404
    assert title in response.text and 'class="topbar"' in response.text


def test_field_checks_refuse_once_naming_every_wrong_field_and_the_api_lists_them():
    import pickle

    from gxregistry.api import refusal_response
    from gxregistry.errors import ErrorCode, FieldChecks, RegistryError

    def whole(value, field):
        if not str(value).isdigit():
            raise RegistryError(ErrorCode.INVALID_INPUT, f"{field}: a whole number", field)
        return int(value)

    check = FieldChecks()
    assert check(whole, "12", "a") == 12 and check(whole, "x", "b") is None and check(whole, "-1", "c") is None
    assert check.failed("b") and not check.failed("a")
    with pytest.raises(RegistryError) as refused:
        check.done()
    assert [(r.field, r.message) for r in refused.value.refusals()] == [("b", "b: a whole number"),
                                                                        ("c", "c: a whole number")]
    again = pickle.loads(pickle.dumps(refused.value))  # noqa: S301 - our own object, as a django-q2 worker returns it
    assert [r.field for r in again.refusals()] == ["b", "c"]
    body = refusal_response(refused.value).data
    assert (body["code"], body["field"]) == ("invalid_input", "b")
    assert body["errors"] == {"b": ["b: a whole number"], "c": ["c: a whole number"]}
    FieldChecks().done()  # nothing refused: nothing raised
