"""A throwaway PostgreSQL cluster started from the installed server binaries.

`initdb` and `pg_ctl` refuse to run as root, so when the current user is root the cluster's
directory is handed to the `postgres` system user and the binaries run through `runuser`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are missing or the cluster did not start."""


def find_bindir() -> Path:
    """Directory holding initdb and pg_ctl (PATH first, then Debian's versioned dirs)."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not candidates:
        raise PostgresUnavailable("initdb not found: install the postgresql package")
    return Path(candidates[0]).parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayCluster:
    """initdb + pg_ctl start on a free loopback port; `stop()` removes everything."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        self.bindir = find_bindir()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="certctl-pg-"))
        self.datadir = self.root / "data"
        self._as_root = os.geteuid() == 0

    @property
    def admin_url(self) -> str:
        """URL of the `postgres` database as the superuser."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        """URL of another database in this cluster."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(  # noqa: S603 - fixed argv of the PostgreSQL binaries
            cmd, capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            raise PostgresUnavailable(f"{args[0]} failed: {result.stderr.strip()[-2000:]}")

    def start(self) -> ThrowawayCluster:
        """Create and start the cluster (about two seconds)."""
        self.datadir.mkdir(mode=0o700)
        if self._as_root:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.datadir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.resume()
        return self

    def resume(self) -> None:
        """Start the server on its data directory (again, after `pause`)."""
        # Throwaway data needs no crash safety, unless a benchmark measures what a durable
        # production setting costs every commit.
        durability = "on" if self.durable else "off"
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            f"-c fsync={durability} -c synchronous_commit={durability} "
            f"-c full_page_writes={durability} -c max_connections=300"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def pause(self) -> None:
        """Stop the server, keeping its files (a database outage; `resume` ends it)."""
        self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        """Stop the server and delete its files."""
        with contextlib.suppress(PostgresUnavailable):
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
