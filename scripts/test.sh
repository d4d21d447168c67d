#!/usr/bin/env bash
# make test: migrations in step with models, lint, then the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export GX_ENV=test

stop_db() { [[ -z "${DATABASE_URL:-}" ]] && $PY -m gxregistry.embedded_db stop || true; }
trap stop_db EXIT

$PY manage.py makemigrations --check --dry-run -v 1
.venv/bin/ruff check .
$PY -m pytest "$@"
