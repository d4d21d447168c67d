#!/usr/bin/env bash
# make test: migrations in step with models, lint, then the whole suite on every core (pytest-xdist: each worker
# has a test database of its own on the one server).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export GX_ENV=test

stop_db() { [[ -z "${DATABASE_URL:-}" ]] && $PY -m gxregistry.embedded_db stop || true; }
trap stop_db EXIT

$PY manage.py makemigrations --check --dry-run -v 1
.venv/bin/ruff check .
[[ -z "${DATABASE_URL:-}" ]] && $PY -m gxregistry.embedded_db start >/dev/null  # once, before the workers
# Tests handed out two at a time: with bigger batches one worker was left with the last browser tests queued.
$PY -m pytest -n "${GX_TEST_WORKERS:-auto}" --maxprocesses 4 --maxschedchunk 2 "$@"
