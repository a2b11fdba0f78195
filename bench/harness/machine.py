"""What the figures were measured on: cores, CPU model, versions, revision, idle load."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, Any]:
    """Cores, CPU model, memory and the versions that matter to the figures."""
    import cryptography

    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((x.split(":", 1)[1].strip() for x in cpuinfo if x.startswith("model name")), "")
    meminfo = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()
    try:
        openssl = subprocess.run(
            ["openssl", "version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except OSError:
        openssl = "not found"
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "mem_total_gib": round(int(meminfo[1]) / 1024**2, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "cryptography": cryptography.__version__,
        "openssl_cli": openssl,
    }


def revision() -> str:
    """`git describe` of the checkout being measured (`-dirty` when it has local changes)."""
    repo = Path(__file__).resolve().parent.parent
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def machine_busy_seconds() -> float:
    """Busy CPU seconds of the whole machine, all cores (from /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / CLK_TCK


def background_load(seconds: float = 1.0) -> float:
    """CPU the machine spends with nothing of ours running, in % of one core."""
    before, started = machine_busy_seconds(), time.monotonic()
    time.sleep(seconds)
    return round(100 * (machine_busy_seconds() - before) / (time.monotonic() - started), 1)
