#!/usr/bin/env bash
# make run: database, migrations, demo data, background workers and web server.
# Ctrl-C stops all of it, the embedded database included.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

cleanup() {
  trap - INT TERM EXIT
  [[ -n "${QCLUSTER_PID:-}" ]] && kill "$QCLUSTER_PID" 2>/dev/null && wait "$QCLUSTER_PID" 2>/dev/null || true
  [[ -n "${GATEWAY_PID:-}" ]] && kill "$GATEWAY_PID" 2>/dev/null && wait "$GATEWAY_PID" 2>/dev/null || true
  [[ -z "${DATABASE_URL:-}" ]] && $PY -m gxregistry.embedded_db stop
  echo "Stopped."
}
trap cleanup INT TERM EXIT

[[ -z "${DATABASE_URL:-}" ]] && echo "Embedded PostgreSQL: $($PY -m gxregistry.embedded_db start)"
$PY manage.py migrate --noinput -v 0
$PY manage.py createcachetable
$PY manage.py seed_demo
$PY manage.py qcluster &
QCLUSTER_PID=$!
PORT=${PORT:-8000}
# The market's order gateway: the web server's orders reach the book through it (docs/market.md).
export MARKET_GATEWAY_SOCKET="${MARKET_GATEWAY_SOCKET:-${TMPDIR:-/tmp}/gx-market-gateway-$PORT.sock}"
$PY manage.py market_gateway &
GATEWAY_PID=$!
echo "GX-ETS Registry at http://127.0.0.1:$PORT  (Ctrl-C stops everything)"
$PY manage.py runserver "127.0.0.1:$PORT" --noreload
