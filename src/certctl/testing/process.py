"""Real `certctl` server processes for end-to-end tests: start one, wait until it is ready."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

CERTCTL = str(Path(sys.executable).parent / "certctl")


def start(
    args: list[str], env: Mapping[str, str], cwd: Path, *, log: Path | None = None
) -> subprocess.Popen[str]:
    """Start `certctl ARGS` with only the given CERTCTL_* variables.

    Output goes to pipes, or to the file `log` for a chatty process that nobody reads while
    it runs (a full pipe would block it).
    """
    base = {k: v for k, v in os.environ.items() if not k.startswith("CERTCTL_")}
    sink = log.open("a") if log is not None else None
    try:
        return subprocess.Popen(  # noqa: S603 - the certctl executable of this environment
            [CERTCTL, *args],
            env={**base, **env},
            cwd=cwd,
            stdout=sink or subprocess.PIPE,
            stderr=sink or subprocess.PIPE,
            text=True,
        )
    finally:
        if sink is not None:
            sink.close()


def wait_ready(url: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """Poll `/ready` until it answers 200; fail early if the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else "(see its log file)"
            raise AssertionError(f"server exited early: {err}")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server did not become ready within {timeout:.0f} s")


def stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 40 s."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.communicate(timeout=40)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


@contextmanager
def running(env: Mapping[str, str], cwd: Path, url: str) -> Iterator[subprocess.Popen[str]]:
    """`certctl serve` for the duration of the block."""
    proc = start(["serve"], env, cwd)
    try:
        wait_ready(url, proc)
        yield proc
    finally:
        stop(proc)


@contextmanager
def serving_logged(
    env: Mapping[str, str], workdir: Path, *, timeout: float = 60
) -> Iterator[tuple[str, Path]]:
    """`certctl serve` on a free loopback port, its log copied to `workdir/server.log`.

    Yields (base URL, log path) once uvicorn listens. The log is drained by a thread, so a
    chatty server never blocks on a full pipe. `env` holds the CERTCTL_* variables besides
    the port, which is chosen here.
    """
    from certctl.testing.postgres import free_port

    port = free_port()
    log = workdir / "server.log"
    base = {k: v for k, v in os.environ.items() if not k.startswith("CERTCTL_")}
    proc = subprocess.Popen(  # noqa: S603 - the certctl executable of this environment
        [CERTCTL, "serve"],
        env={**base, **env, "CERTCTL_SERVER_PORT": str(port)},
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    listening = threading.Event()
    reader = threading.Thread(target=_drain, args=(proc, log, listening), daemon=True)
    reader.start()
    try:
        if not listening.wait(timeout=timeout) or proc.poll() is not None:
            raise AssertionError(f"server did not start: {log.read_text()}")
        yield f"http://127.0.0.1:{port}", log
    finally:
        proc.terminate()
        proc.wait(timeout=40)
        reader.join(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


def _drain(proc: subprocess.Popen[str], log: Path, listening: threading.Event) -> None:
    """Copy the server's log lines to a file; signal once uvicorn listens."""
    assert proc.stderr is not None
    with log.open("w") as sink:
        for line in proc.stderr:
            sink.write(line)
            sink.flush()
            if "Uvicorn running on" in line:
                listening.set()
    listening.set()  # the process ended: stop waiting (the caller reads the log)


@dataclass(frozen=True)
class Demo:
    """A running `certctl demo`: its base URL, data directory and admin API key."""

    url: str
    data_dir: Path
    admin_key: str


@contextmanager
def serving_demo(
    data_dir: Path,
    env: Mapping[str, str] | None = None,
    *,
    port: int | None = None,
    timeout: float = 90,
) -> Iterator[Demo]:
    """`certctl demo` on `port` (a free one by default) with its data under `data_dir`.

    The server's output goes to `data_dir/demo.log` (a file, so a chatty server never blocks
    on a full pipe); the demo is stopped when the block ends.
    """
    from certctl.testing.postgres import free_port

    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    base = {k: v for k, v in os.environ.items() if not k.startswith("CERTCTL_")}
    with (data_dir / "demo.log").open("w") as log:
        proc = subprocess.Popen(  # noqa: S603 - the certctl executable of this environment
            [CERTCTL, "demo", "--host", "127.0.0.1", "--port", str(port)],
            env={**base, **(env or {}), "CERTCTL_DATA_DIR": str(data_dir)},
            cwd=data_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_ready(url, proc, timeout=timeout)
            key = (data_dir / "demo-admin.key").read_text().strip()
            yield Demo(url=url, data_dir=data_dir, admin_key=key)
        finally:
            stop(proc)
