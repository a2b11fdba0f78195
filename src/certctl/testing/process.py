"""Real `certctl` server processes for end-to-end tests: start one, wait until it is ready."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

CERTCTL = str(Path(sys.executable).parent / "certctl")


def start(args: list[str], env: Mapping[str, str], cwd: Path) -> subprocess.Popen[str]:
    """Start `certctl ARGS` with only the given CERTCTL_* variables."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CERTCTL_")}
    return subprocess.Popen(  # noqa: S603 - the certctl executable of this environment
        [CERTCTL, *args],
        env={**base, **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_ready(url: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """Poll `/ready` until it answers 200; fail early if the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read() if proc.stderr else ""
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
