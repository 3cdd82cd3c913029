"""A throwaway PostgreSQL server for the session-store tests and `make bench`: never used at runtime.

Debian's binaries (/usr/lib/postgresql/*/bin), a temporary folder, a unix socket and no TCP port
(`listen_addresses=''`). PostgreSQL refuses to run as root, so as root the server's folder
belongs to the `postgres` user and `initdb`/`pg_ctl` run through `runuser`.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin or on PATH: "
    "install Debian's postgresql (`apt-get install -y postgresql`; .ci/run does this)"
)


def postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL bin folder holding initdb and pg_ctl, else initdb's folder on PATH, or None."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    found = [p for p in found if (p / "pg_ctl").is_file()]
    newest = max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, default=None)
    on_path = shutil.which("initdb")  # e.g. Homebrew's postgresql on macOS
    if newest is None and on_path and (Path(on_path).parent / "pg_ctl").is_file():
        return Path(on_path).parent
    return newest


class PostgresServer:
    """One server in its own folder; `url` connects over the unix socket as the `postgres` superuser."""

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="calib-pg-"))
        self.data = self.root / "data"
        self.port = 40000 + os.getpid() % 20000
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = [*args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    def start(self) -> None:
        """initdb (trust auth, superuser `postgres`) and start; raises with the server's words on failure."""
        init = self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        if init.returncode:
            raise RuntimeError(f"initdb failed: {init.stderr.strip()[-1000:]}")
        options = f"-c listen_addresses='' -k {self.root} -p {self.port} -c fsync=on"
        started = self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w",
            "start",
        )
        if started.returncode:
            log = (self.root / "server.log").read_text(errors="replace")[-1000:]
            raise RuntimeError(f"pg_ctl start failed: {started.stderr.strip()} {log}")

    def stop(self) -> None:
        """Stop the server (fast) and remove its folder."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the `postgres` database."""
        return self.database_url("postgres")

    def database_url(self, database: str) -> str:
        """The SQLAlchemy URL of one database on this server."""
        return f"postgresql+psycopg://postgres@/{database}?host={self.root}&port={self.port}"

    def create_database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host=str(self.root), port=self.port, user="postgres", dbname="postgres") as conn:
            conn.autocommit = True
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.database_url(name)

    def psql(self, database_url: str, sql: str) -> subprocess.CompletedProcess:
        """Run SQL with the server's own client, as a person with shell access would."""
        database = database_url.split("@/", 1)[1].split("?", 1)[0]
        return subprocess.run(
            [str(self.bin / "psql"), "-h", str(self.root), "-p", str(self.port), "-U", "postgres", "-d", database,
             "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True, text=True, timeout=60, check=False,
        )
