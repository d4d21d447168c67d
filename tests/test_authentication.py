import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.roles import Role
from conftest import PASSWORD, current_code, enrol_totp

pytestmark = pytest.mark.django_db


def login(client, email, password=PASSWORD):
    return client.post(reverse("login"), {"username": email, "password": password})


def test_viewer_signs_in_with_password_only(client, make_user):
    user = make_user(Role.VIEWER)
    assert login(client, user.email).status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200


def test_login_is_case_insensitive_on_email(client, make_user):
    user = make_user(Role.VIEWER)
    assert login(client, user.email.upper()).status_code == 302


def test_wrong_password_says_so_and_signs_nobody_in(client, make_user):
    user = make_user(Role.VIEWER)
    response = login(client, user.email, "not-the-password")
    assert response.status_code == 200
    assert "The email address or password is wrong." in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("role", [Role.REGISTRY_ADMINISTRATOR, Role.AUTHORISED_REPRESENTATIVE,
                                  Role.APPROVING_REPRESENTATIVE, Role.MARKET_OPERATOR])
def test_administrators_and_representatives_must_enrol_before_anything_else(client, make_user, role):
    user = make_user(role)
    login(client, user.email)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("otp_enrol"))


def test_enrolment_shows_qr_and_gives_single_use_backup_codes(client, make_user):
    user = make_user(Role.AUTHORISED_REPRESENTATIVE)
    login(client, user.email)
    page = client.get(reverse("otp_enrol")).content.decode()
    assert "<svg" in page
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(reverse("otp_enrol"), {"otp_token": current_code(device)})
    codes = response.context["backup_codes"]
    assert len(codes) == 10
    assert client.get(reverse("dashboard")).status_code == 200

    # A backup code signs in once, never twice.
    other = client.__class__()
    login(other, user.email)
    assert other.post(reverse("otp_verify"), {"otp_token": codes[0]}).status_code == 302
    assert not StaticToken.objects.filter(token=codes[0]).exists()
    again = client.__class__()
    login(again, user.email)
    assert again.post(reverse("otp_verify"), {"otp_token": codes[0]}).status_code == 200


def test_wrong_totp_code_names_the_field_and_does_not_verify(client, make_user):
    user = make_user(Role.REGISTRY_ADMINISTRATOR)
    device = enrol_totp(user)
    login(client, user.email)
    wrong = f"{(int(current_code(device)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("otp_verify"), {"otp_token": wrong})
    assert response.status_code == 200
    assert response.context["form"].errors["otp_token"] == [
        "The code is wrong or has expired. Type the code your app shows now."
    ]
    assert client.get(reverse("dashboard")).status_code == 302


def test_throttled_sign_in_says_how_long_to_wait_and_a_backup_code_still_works(client, make_user):
    from django_otp.plugins.otp_static.models import StaticDevice

    user = make_user(Role.AUTHORISED_REPRESENTATIVE)
    device = enrol_totp(user)
    backup = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    backup.token_set.create(token="backup77")
    login(client, user.email)
    wrong = f"{(int(current_code(device)) + 1) % 1_000_000:06d}"
    first = client.post(reverse("otp_verify"), {"otp_token": wrong})
    assert "The code is wrong" in first.context["form"].errors["otp_token"][0]
    throttled = client.post(reverse("otp_verify"), {"otp_token": current_code(device)})
    message = throttled.context["form"].errors["otp_token"][0]
    assert "wait 1 second," in message and "backup code" in message
    # As the message says, a backup code signs in at once: the app's wrong codes counted against the app only.
    assert backup.__class__.objects.get(pk=backup.pk).throttling_failure_count == 0
    assert client.post(reverse("otp_verify"), {"otp_token": "backup77"}).status_code == 302


def test_a_mistyped_backup_code_does_not_hold_up_the_app_code_at_sign_in(client, make_user):
    from django_otp.plugins.otp_static.models import StaticDevice

    user = make_user(Role.AUTHORISED_REPRESENTATIVE)
    device = enrol_totp(user)
    StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True).token_set.create(token="backup77")
    login(client, user.email)
    wrong = client.post(reverse("otp_verify"), {"otp_token": "backup78"})
    assert wrong.context["form"].errors["otp_token"] == [
        "The code is wrong or has expired. Type the code your app shows now."]
    assert TOTPDevice.objects.get(pk=device.pk).throttling_failure_count == 0
    assert client.post(reverse("otp_verify"), {"otp_token": current_code(device)}).status_code == 302


def test_wrong_enrolment_code_leaves_the_device_unconfirmed(client, make_user):
    user = make_user(Role.AUTHORISED_REPRESENTATIVE)
    login(client, user.email)
    client.get(reverse("otp_enrol"))
    response = client.post(reverse("otp_enrol"), {"otp_token": "000000"})
    assert "otp_token" in response.context["form"].errors
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def test_repeated_wrong_passwords_lock_the_account(client, make_user, settings):
    user = make_user(Role.VIEWER)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, user.email, "wrong-password")
    response = login(client, user.email)  # even the right password is refused now
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()


def test_next_parameter_cannot_redirect_off_site(client, make_user):
    user = make_user(Role.REGISTRY_ADMINISTRATOR)
    device = enrol_totp(user)
    login(client, user.email)
    response = client.post(reverse("otp_verify") + "?next=https://evil.example.com/",
                           {"otp_token": current_code(device)})
    assert response.url == reverse("dashboard")


def test_pages_in_japanese_by_default_and_english_on_request(client, make_user, settings):
    settings.LANGUAGE_CODE = "ja"
    assert "ログイン" in client.get(reverse("login")).content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/login/"})
    assert "Sign in" in client.get(reverse("login")).content.decode()


def test_security_headers_on_every_page(client):
    response = client.get(reverse("login"))
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_second_factor_returns_to_the_whole_address_asked_for(client, make_user):
    user = make_user(Role.AUTHORISED_REPRESENTATIVE)
    device = enrol_totp(user)
    login(client, user.email)
    asked = "/registry-report/?fiscal_year=2026&export=csv"
    response = client.get(asked)
    assert response.status_code == 302 and response.url.startswith(reverse("otp_verify"))
    done = client.post(response.url, {"otp_token": current_code(device)})
    assert done.status_code == 302 and done.url == asked  # nothing after the first "&" is lost


def test_the_language_chosen_on_a_page_is_the_language_of_ones_emails(make_user, signed_in, client):
    user = make_user(Role.VIEWER)
    assert user.language == "ja"
    signed_in(user)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/dashboard/"})
    assert response.status_code == 302 and response.url == "/dashboard/"
    user.refresh_from_db()
    assert user.language == "en"
    client.post(reverse("set_language"), {"language": "xx", "next": "/dashboard/"})  # not ours: ignored
    user.refresh_from_db()
    assert user.language == "en"
    assert client.get(reverse("set_language")).status_code == 405
