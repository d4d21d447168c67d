"""The Japanese catalogue covers every message in the code: a new string without its translation fails.

The catalogue is extracted afresh (``makemessages``) from a copy of the source, so a message added in a
template or in Python but never put in the catalogue counts as untranslated too, and a fuzzy guess that
``makemessages`` made for a changed message counts as not translated.
"""

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# gettext's tools, which `make messages` installs; a fixed path, so no PATH lookup decides what runs.
MSGATTRIB, MSGFMT = shutil.which("msgattrib") or "/usr/bin/msgattrib", shutil.which("msgfmt") or "/usr/bin/msgfmt"
NOT_SOURCE = shutil.ignore_patterns(".venv", ".pgdata", ".git", "__pycache__", "*.pyc", "*.mo", "media",
                                    "private-media", "staticfiles", ".hypothesis", ".pytest_cache", ".ruff_cache",
                                    "test-results", "benchmarks")


def test_every_message_in_the_code_has_a_japanese_translation(tmp_path):
    copy = tmp_path / "source"
    shutil.copytree(ROOT, copy, ignore=NOT_SOURCE)
    # makemessages reads no database; a DATABASE_URL keeps the embedded PostgreSQL from starting for it.
    env = {**os.environ, "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none", "GX_ENV": "test"}
    subprocess.run([sys.executable, "manage.py", "makemessages", "-l", "ja", "--no-obsolete", "-v", "0"],
                   cwd=copy, env=env, check=True)
    catalogue = copy / "locale" / "ja" / "LC_MESSAGES" / "django.po"
    missing = subprocess.run([MSGATTRIB, "--untranslated", "--no-wrap", str(catalogue)],
                             capture_output=True, text=True, check=True).stdout
    fuzzy = subprocess.run([MSGATTRIB, "--only-fuzzy", "--no-wrap", str(catalogue)],
                           capture_output=True, text=True, check=True).stdout
    untranslated = [line for line in missing.splitlines() if line.startswith("msgid ") and line != 'msgid ""']
    guessed = [line for line in fuzzy.splitlines() if line.startswith("msgid ") and line != 'msgid ""']
    assert untranslated == [], "messages without a Japanese translation (run makemessages -l ja and translate)"
    assert guessed == [], "fuzzy (guessed) translations: check and correct them, then remove the fuzzy flag"


def test_the_committed_catalogue_compiles_cleanly():
    result = subprocess.run([MSGFMT, "--check", "--statistics", "-o", os.devnull,
                             str(ROOT / "locale" / "ja" / "LC_MESSAGES" / "django.po")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "fuzzy" not in result.stderr and "untranslated" not in result.stderr, result.stderr


# Latin-script words a Japanese page may show: codes, units, formats and proper names that are the same in
# both languages. Anything else in Latin letters on a Japanese page is an English string that escaped
# translation (a label, a message, a choice's name). Codes in <code>, and text marked lang="en" (an English
# name or scope a company gave, the allocation engine's derivation notation), are not counted.
ALLOWED_LATIN = {
    # the scheme, the registry and its formats
    "GX", "GX-ETS", "ETS", "METI", "GXA", "JCM", "J", "CO2", "t-CO2", "JST", "CSV", "XLSX", "PDF", "API", "FY",
    "SHA-256", "BOM", "MB", "UTF-8", "Shift_JIS", "JIS", "Shift", "QR", "ID", "REST", "OpenAPI", "URL",
    # units and fuels as written in Japanese too
    "t", "kL", "GJ", "MWh", "kWh", "Nm3", "LNG", "LPG", "A",
    # standards, accreditation and the credit rules' own terms
    "ISO", "IEC", "JAB", "RE-GHG", "GHG", "SHK",
    # the language switcher and product names
    "English", "Google", "Microsoft", "Authenticator",
}


def latin_words(html: str) -> set[str]:
    """The Latin-script words a reader sees on a page: text and the labels assistive technology reads, without
    scripts, styles, codes, text marked as English, e-mail addresses, URLs and account numbers."""
    import re

    html = re.sub(r"<(script|style|code)\b.*?</\1>", " ", html, flags=re.S | re.I)
    html = re.sub(r'<(\w+)\b[^>]*\blang="en"[^>]*>.*?</\1>', " ", html, flags=re.S)
    labels = " ".join(re.findall(r'(?:aria-label|title|placeholder|alt)="([^"]*)"', html))
    text = re.sub(r"<[^>]+>", " ", html) + " " + labels
    # e-mail addresses, URLs and paths, account numbers, dotted codes such as a benchmark's key (steel.blast_furnace)
    text = re.sub(r"\S+@\S+|https?://\S+|/\S*|\bJP-[A-Z0-9-]+|\b[a-z_]+\.[a-z_.]+\b", " ", text)
    words = {word.rstrip("-") for word in re.findall(r"[A-Za-z][A-Za-z0-9_'-]*", text)}
    return {word for word in words if not re.search(r"\d", word) and word not in ALLOWED_LATIN}


@pytest.mark.django_db
def test_every_page_in_japanese_shows_no_english_words(client, signed_in):
    """Every page each demo user may open (the URL permission matrix, as the screen walk opens them), rendered
    in Japanese, shows Latin letters only for the codes, units and names of ALLOWED_LATIN."""
    from django.core.management import call_command

    from accounts.models import User
    from conftest import PASSWORD
    from tests.test_screens import DEMO_USERS, pages_for

    call_command("seed_demo", entities=3, quiet_users=True, stdout=io.StringIO())
    found = {}
    for email in DEMO_USERS:
        user = User.objects.get(email=email)
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        client.logout()
        client.cookies["django_language"] = "ja"  # before signing in: the sign-in's own message is in Japanese
        signed_in(user)
        for _name, path in pages_for(user):
            response = client.get(path, follow=True)
            assert response.status_code == 200, (email, path)
            for word in latin_words(response.content.decode()):
                found.setdefault(word, path)
    assert not found, f"English on Japanese pages (word: first page it is on): {sorted(found.items())}"


@pytest.mark.django_db
def test_the_back_office_reads_in_japanese_including_third_party_apps(client, signed_in, make_user):
    from accounts.roles import Role

    client.cookies["django_language"] = "ja"
    signed_in(make_user(Role.REGISTRY_ADMINISTRATOR))
    page = client.get("/admin/").content.decode()
    for english, japanese in (("Background jobs", "バックグラウンド処理"), ("Failed tasks", "失敗したタスク"),
                              ("Scheduled tasks", "定期タスク"), ("Audit trail", "監査証跡")):
        assert japanese in page and english not in page, english
    assert "Pghistory" not in page and "PGHISTORY" not in page
