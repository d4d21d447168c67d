"""The Japanese catalogue covers every message in the code: a new string without its translation fails.

The catalogue is extracted afresh (``makemessages``) from a copy of the source, so a message added in a
template or in Python but never put in the catalogue counts as untranslated too, and a fuzzy guess that
``makemessages`` made for a changed message counts as not translated.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

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
