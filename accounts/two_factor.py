"""TOTP enrolment and verification (django-otp), with single-use backup codes."""

import io

import qrcode
import qrcode.image.svg
from django.db import transaction
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from gxregistry.audit import audit_context

BACKUP_CODE_COUNT = 10
APP_CODE_DIGITS = 6  # what the devices enrolled here show (django-otp's default)


def pending_totp_device(user) -> TOTPDevice:
    """The unconfirmed device being enrolled, created once and reused on reload."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=False)


def qr_code_svg(device: TOTPDevice) -> str:
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def confirm_enrolment(*, user, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm the device if ``token`` is right; return fresh backup codes, else None."""
    if not device.verify_token(token):
        return None
    with transaction.atomic(), audit_context(user, action="otp_enrol"):
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        static, _ = StaticDevice.objects.get_or_create(user=user, name="Backup codes")
        static.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
        StaticToken.objects.bulk_create([StaticToken(device=static, token=code) for code in codes])
    return codes


def has_confirmed_device(user) -> bool:
    return any(True for _ in devices_for_user(user, confirmed=True))


def devices_for_code(user, token: str, *, for_verify: bool = False) -> list:
    """The person's confirmed devices ``token`` could be a code of: the authenticator app for six digits, the backup
    codes (eight letters and digits) otherwise. A code is tried only there, so a wrong app code counts against the
    app alone and the backup codes stay usable while the app is throttled, as the throttle's message promises
    (django-otp's match_token tries every device, which its documentation advises against)."""
    app_code = token.isdigit() and len(token) == APP_CODE_DIGITS
    return [device for device in devices_for_user(user, confirmed=True, for_verify=for_verify)
            if isinstance(device, TOTPDevice) == app_code]


def verify(user, token: str):
    """The device that accepts ``token`` (the app's code, or a backup code, used up), or None."""
    token = (token or "").strip().replace(" ", "")
    with transaction.atomic():
        for device in devices_for_code(user, token, for_verify=True):
            if device.verify_token(token):
                return device
    return None
