# The two commands a fresh machine needs: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: run test setup messages fonts browser lint db-stop clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP) messages fonts

# Compiled translations are build output; gettext's msgfmt makes them.
messages:
	@command -v msgfmt >/dev/null || (apt-get update -qq && apt-get install -y -qq gettext >/dev/null)
	@$(PY) manage.py compilemessages --ignore=.venv -v 0

# The Japanese fonts the PDFs embed (IPAex Gothic; IPA Gothic for listings set on a grid), and HarfBuzz's subsetter, with which WeasyPrint cuts
# the embedded font to the glyphs used in C rather than in Python (fontTools): a quarter of a notice's time.
fonts:
	@test -f /usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf -a -f /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf -a -n "$$(ldconfig -p | grep libharfbuzz-subset.so.0)" || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-ipaexfont-gothic fonts-ipafont-gothic libharfbuzz-subset0 >/dev/null)

# Debian's Chromium for the Playwright end-to-end tests (Playwright's own
# browser download cannot work here), with a Japanese font so pages render.
browser:
	@test -x /usr/bin/chromium -a -d /usr/share/fonts/opentype/ipaexfont-gothic || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-ipaexfont >/dev/null)

run: setup
	@bash scripts/run.sh

test: setup browser
	@bash scripts/test.sh

lint: setup
	$(VENV)/bin/ruff check .

db-stop:
	@$(PY) -m gxregistry.embedded_db stop

clean: db-stop
	rm -rf $(VENV) .pgdata staticfiles
