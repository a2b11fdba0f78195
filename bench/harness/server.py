"""The real `certctl serve` in its own process group, and stopping helper processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx


class Server:
    """`certctl serve` as a subprocess in its own process group, stopped on exit.

    Its output goes to a log file (a pipe nobody reads would block it once full).
    """

    started: list[Server] = []  # every server of this run, for stop_all()

    @classmethod
    def stop_all(cls) -> None:
        """Stop every server still running (a safety net for interrupted runs)."""
        for server in cls.started:
            server.stop()

    def __init__(
        self, database_url: str, workers: int, workdir: Path, env: Mapping[str, str]
    ) -> None:
        self.database_url = database_url
        self.workers = workers
        self.workdir = workdir
        self.env = dict(env)
        self.log_path = workdir / f"server-{os.getpid()}-{time.monotonic_ns()}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.base_url = ""
        self.port = 0

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def start(self, timeout: float = 60.0) -> None:
        from certctl.testing.postgres import free_port
        from certctl.testing.process import CERTCTL

        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCTL_")}
        env |= {
            "CERTCTL_DATABASE_URL": self.database_url,
            "CERTCTL_SERVER_HOST": "127.0.0.1",
            "CERTCTL_SERVER_PORT": str(self.port),
            "CERTCTL_SERVER_WORKERS": str(self.workers),
            "CERTCTL_LOG_LEVEL": "warning",
            "CERTCTL_DATA_DIR": str(self.workdir),
            "CERTCTL_SCHEDULER_ENABLED": "false",
            # One key drives thousands of requests a second: no per-key limit in benchmarks.
            "CERTCTL_RATE_LIMIT_API_KEY_PER_MINUTE": "0",
            **self.env,
        }
        Server.started.append(self)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [CERTCTL, "serve"],
                env=env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.base_url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/ready", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"server not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""

    def stop(self) -> None:
        """SIGTERM, then SIGKILL to the whole group (the master and its workers)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None


def stop_process(proc: Any, timeout: float = 5.0) -> None:
    """Join a multiprocessing child, terminating and then killing it if it does not exit."""
    proc.join(timeout=timeout)
    if proc.is_alive():
        proc.terminate()
        proc.join(timeout=timeout)
    if proc.is_alive():
        proc.kill()
        proc.join()
