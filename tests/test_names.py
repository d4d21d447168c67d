"""Names in the reader's language: English pages use the English name where there is one."""

from decimal import Decimal

from django.urls import reverse

from accounts.models import Organisation
from accounts.roles import Role
from allocation.models import Facility


def test_organisation_and_facility_names_follow_the_page_language(make_user, signed_in, client):
    viewer = make_user(Role.VIEWER)
    organisation = viewer.memberships.get().organisation
    Organisation.objects.filter(pk=organisation.pk).update(name="東海製鉄株式会社", name_en="Tokai Steel Co.")
    Facility.objects.create(organisation=organisation, code="F1", name="名古屋製鉄所", name_en="Nagoya Works",
                            prefecture=23, energy_use_kl=Decimal(10))
    signed_in(viewer)
    url = reverse("organisation_detail", args=[organisation.pk])
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").text
    assert "Tokai Steel Co." in english and "Nagoya Works" in english and "名古屋製鉄所" not in english
    client.post(reverse("set_language"), {"language": "ja", "next": url})
    japanese = client.get(url).text
    assert "東海製鉄株式会社" in japanese and "名古屋製鉄所" in japanese and "Nagoya Works" not in japanese


def test_a_name_without_an_english_version_stays_japanese(make_organisation):
    from django.utils import translation

    from accounts.templatetags.registry import in_reader_language

    organisation = make_organisation(name="山陽化学株式会社")
    with translation.override("en"):
        assert in_reader_language(organisation) == "山陽化学株式会社"


def test_hidden_fields_show_no_label(make_user, signed_in, client):
    """The surrender form's idempotency key is hidden: no stray "Request key" label beside nothing."""
    from datetime import date

    from accounts.models import CompliancePeriod

    representative = make_user(Role.AUTHORISED_REPRESENTATIVE)
    organisation = representative.memberships.get().organisation
    from accounts import ledger
    from accounts.services import system_actor

    ledger.holding_account_open(kind="operator_holding", organisation=organisation, acting_user=system_actor())
    CompliancePeriod.objects.create(fiscal_year=2026, surrender_deadline=date(2027, 11, 30),
                                    upper_limit_price_yen=Decimal(4300), lower_limit_price_yen=Decimal(1700))
    signed_in(representative)
    page = client.get(reverse("compliance", args=[organisation.pk, 2026])).text
    assert 'name="request_key"' in page and "Request key" not in page


BUTTON_KINDS = {"primary", "secondary", "destructive", "link"}
# Acts that refuse, undo or end something: always the destructive style, so nobody mistakes them for the
# page's main act.
DESTRUCTIVE_VERBS = {"Reject", "Cancel", "Remove", "Revoke", "Suspend", "Block the account", "Close the account",
                     "Withdraw the appointment", "Refuse"}


def test_every_button_has_one_of_the_four_styles_and_destructive_acts_look_destructive():
    import re
    from pathlib import Path

    wrong = []
    root = Path(__file__).resolve().parent.parent
    for template in sorted([*root.glob("templates/**/*.html"), *root.glob("*/templates/**/*.html")]):
        text = template.read_text(encoding="utf-8")
        for match in re.finditer(r"<button([^>]*)>\s*(?:\{% translate \"([^\"]+)\" %\})?", text):
            attributes, label = match.group(1), match.group(2)
            if 'name="language"' in attributes:
                continue  # the language switcher's two buttons mark the current language instead
            found = re.search(r'class="([^"]*)"', attributes)
            kind = found.group(1) if found else ""
            if "{%" in kind:  # chosen in the template between the known kinds
                kinds = set(re.findall(r"\b(primary|secondary|destructive|link)\b", kind))
                ok = bool(kinds) and kinds <= BUTTON_KINDS
            else:
                ok = kind in BUTTON_KINDS and (label not in DESTRUCTIVE_VERBS or kind == "destructive")
            if not ok:
                wrong.append((template.name, label, kind))
    assert wrong == [], "buttons outside the four styles, or destructive acts in another style"
