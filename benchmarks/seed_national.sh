#!/usr/bin/env bash
# Build the national-scale data set (400 entities, 10,000 facilities, 30,000
# processes, FY2023-2025) in its own database and time it.
#   bash benchmarks/seed_national.sh          # embedded PostgreSQL, database gxregistry_national
#   DATABASE_URL=postgres://... bash benchmarks/seed_national.sh
set -euo pipefail
cd "$(dirname "$0")/.."
make -s setup
export GX_ENV=development GX_DATABASE_NAME=${GX_DATABASE_NAME:-gxregistry_national}
PY=.venv/bin/python
$PY manage.py migrate -v 0
$PY manage.py createcachetable
/usr/bin/time -f "seed_demo national scale: %e s wall, %M KB max RSS" \
  $PY manage.py seed_demo --entities 400 --facilities 10000 --processes 30000 --quiet-users
