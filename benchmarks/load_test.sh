#!/usr/bin/env bash
# Issue 16's load test: USERS (50) simulated users for RUN_TIME (10m) against gunicorn with 2 worker processes
# and the production settings (HTTPS with a throwaway certificate, Redis cache), on the demo data in the
# embedded PostgreSQL database GX_DATABASE_NAME (gx_load). Prints locust's summary; CSVs stay in the work folder.
#
#     bash benchmarks/load_test.sh                  # USERS=50 RUN_TIME=10m
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export GX_DATABASE_NAME=${GX_DATABASE_NAME:-gx_load}
USERS=${USERS:-50}
RUN_TIME=${RUN_TIME:-10m}
WORK=$(mktemp -d /tmp/gx-load-XXXX)
PORT=${PORT:-8443}

GX_ENV=development $PY manage.py migrate --noinput -v 0
GX_ENV=development $PY manage.py createcachetable
GX_ENV=development $PY manage.py seed_demo > "$WORK/seed.log"
GX_ENV=development $PY benchmarks/load_prepare.py "$WORK/identities.json"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

export GX_ENV=production DJANGO_SECRET_KEY="load-test-$(openssl rand -hex 24)" DJANGO_ALLOWED_HOSTS=127.0.0.1 \
  REGISTRY_PUBLIC_URL="https://127.0.0.1:$PORT" DJANGO_CSRF_TRUSTED_ORIGINS="https://127.0.0.1:$PORT" \
  REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/13} LOG_LEVEL=WARNING
$PY manage.py collectstatic --noinput -v 0
# gthread: keep-alive connections (the sync worker closes each, so every request paid a TLS handshake).
.venv/bin/gunicorn gxregistry.wsgi --workers 2 --worker-class gthread --threads 4 --bind "127.0.0.1:$PORT" --certfile "$WORK/cert.pem" \
  --keyfile "$WORK/key.pem" --log-level warning > "$WORK/gunicorn.log" 2>&1 &
GUNICORN=$!
trap 'kill $GUNICORN 2>/dev/null || true' EXIT
sleep 3
LOCUST_IDENTITIES="$WORK/identities.json" .venv/bin/locust -f benchmarks/locustfile.py --headless \
  --users "$USERS" --spawn-rate 5 --run-time "$RUN_TIME" --host "https://127.0.0.1:$PORT" \
  --csv "$WORK/load" --only-summary --loglevel WARNING 2>&1 | tail -40 || true
echo "CSVs and logs: $WORK"
echo "Machine: $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
