"""Every benchmark script still runs end to end at its smallest size (timings never judged)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.bench, pytest.mark.postgres, pytest.mark.timeout(420)]

BENCH = Path(__file__).resolve().parents[2] / "bench"

# The smallest sizes that still take every code path (both backends, every scenario, every
# part), and the table header each prints: once per backend, or once for pki's anchors.
# `make bench` runs the same scripts at full size.
SMOKE = {
    "agents": (
        "--agents 50 --heartbeat-interval 6 --poll-interval 3 --duration 3 --warmup 1",
        "| route ",
        1,
    ),
    "api_list": (
        "--certs 200 --duration 0.3 --warmup 0.1 --concurrency 4 --rate 40",
        "| scenario ",
        2,
    ),
    "dispatch": (
        "--deliveries 40 --concurrency 10 --latency-ms 0 20 --anchor-requests 20",
        "| scenario ",
        2,
    ),
    "expiry_scan": ("--certs 300", "| phase ", 2),
    "pki_crl": ("--entries 200 --repeat 1", "| backend ", 1),
    "pki": (
        "--quick --leaves 20 --concurrency 4 --http-certs 60 --http-concurrency 4"
        " --duration 0.3 --warmup 0.1 --crl-entries 200 --crl-repeat 1 --anchor-seconds 0.05"
        " --ocsp-serials 10 --ocsp-seconds 0.1 --ocsp-concurrency 4 --probe-rate 20",
        "| anchor (one thread) ",
        1,
    ),
}


def run_script(name: str, args: list[str], results: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCTL_")}
    return subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), *args, "--json", str(results)],
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
        env=env,
        cwd=BENCH.parent,
    )


@pytest.mark.usefixtures("pg_cluster")  # PostgreSQL present (skipped only where optional)
@pytest.mark.parametrize("name", sorted(SMOKE))
def test_script_runs_at_smallest_size(name: str, tmp_path: Path) -> None:
    """The script exits 0, prints its table header once per table and writes its results."""
    args, header, tables = SMOKE[name]
    results = tmp_path / f"{name}.json"
    done = run_script(name, args.split(), results)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr}"
    assert done.stdout.count(header) == tables, done.stdout[-4000:]
    assert results.is_file()
