"""Expiry scan + alert decisions over a large estate: AlertService.scan() timed (C13).

Seeds N managed certificates straight into a freshly migrated database (a SQLite file and/or
a throwaway PostgreSQL cluster): a fraction of them (1 % by default) inside the alert window,
their days left spread evenly over 0-29, the rest 60-800 days out; eight owners with email
addresses; one renewal policy (window 30 days, thresholds 30/14/7/0, every tier to Email)
that every certificate uses. Then, in a fresh process (so its peak RSS is the scan's and
not the seeding's), it builds the application context with a frozen clock and times:

  tick 1  the first scan: every decision is new and is written to the outbox (+ audit row);
  tick 2  the same scan again: every decision is already in the outbox (all deduped).

Both are compared with two pure-Python CPU figures measured in the same run: the anchor of
SPEC C13 (4 threshold comparisons for every certificate of the estate, days left already
computed) and the floor of the decisions (`crossed_thresholds` for the expiring set).

    .venv/bin/python bench/expiry_scan.py --certs 5000            # small, both backends
    .venv/bin/python bench/expiry_scan.py                         # 100,000 certificates
    .venv/bin/python bench/expiry_scan.py --backend postgresql --certs 1000000

Memory: the `before` row is the RSS of the scanning process after imports, the context and
one warm database connection; its peak (VmHWM) is then reset, so `peak RSS` after each tick is
the most the process held during the scans. (getrusage's ru_maxrss is kept in the JSON but
cannot be used alone: Linux carries the parent's peak into a spawned child.) The growth over
`before`, divided by the selected certificates, should stay flat from 100k to 1M if memory
follows the expiring set and not the estate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import resource
import signal
import sqlite3
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import harness
from expiry_estate import (
    CHANNEL_MATRIX,
    POLICY_ID,
    THRESHOLDS,
    WINDOW_DAYS,
    Estate,
    outbox_counts,
    seed_tables,
)

RESULTS = Path(__file__).resolve().parent / "results" / "expiry_scan.json"
SCAN_TIMEOUT_S = 600.0
# SPEC C13: (certificates, seconds) for the 1 %-expiring estate.
TARGETS = ((100_000, 1.0), (1_000_000, 5.0))


# --------------------------------------------------------------------------- the estate


# --------------------------------------------------------------------------- the scanning process


def _status_mib(field: str) -> float:
    """A memory line of /proc/self/status (VmRSS, VmHWM) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> bool:
    """Start VmHWM again from the current RSS (Linux >= 4.0); False where refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _memory() -> dict[str, float]:
    """Peak RSS of this process: VmHWM, and getrusage's ru_maxrss for reference.

    ru_maxrss is not usable alone here: Linux carries a process's peak across fork+exec, so
    a spawned child starts with the parent's (seeding) peak. VmHWM belongs to the process
    image and can be reset, so it measures the scan alone.
    """
    return {
        "peak_rss_mib": _status_mib("VmHWM"),
        "rss_mib": _status_mib("VmRSS"),
        "ru_maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _quiet_logging(path: Path) -> Any:
    """The app's JSON logging, written to a file instead of the terminal."""
    from certctl.logconfig import configure_logging

    sink = path.open("a", buffering=1)
    saved, sys.stderr = sys.stderr, sink
    try:
        configure_logging(level="info", fmt="json")
    finally:
        sys.stderr = saved
    return sink


async def _ticks(url: str, now: datetime, db_pid: int | None) -> dict[str, Any]:
    from certctl.bootstrap import build_context
    from certctl.clock import FrozenClock
    from certctl.settings import Settings

    ctx = build_context(Settings(database_url=url), clock=FrozenClock(now))
    try:
        async with ctx.runtime.db.uow() as uow:  # one warm pooled connection, as in a server
            await uow.ping()
        result: dict[str, Any] = {"before": {**_memory(), "peak_reset": _reset_peak()}}
        result["before"]["peak_rss_mib"] = _status_mib("VmHWM")
        for tick in ("tick1", "tick2"):
            db0, cpu0, t0 = (
                harness.tree_cpu_seconds(db_pid),
                time.process_time(),
                time.perf_counter(),
            )
            summary = await ctx.alerts.scan()
            elapsed = time.perf_counter() - t0
            cpu, db1 = time.process_time() - cpu0, harness.tree_cpu_seconds(db_pid)
            result[tick] = {
                "seconds": round(elapsed, 4),
                "scan_cpu_s": round(cpu, 3),
                "db_cpu_s": None if db0 is None or db1 is None else round(db1 - db0, 3),
                **_memory(),
                **{
                    k: v
                    for k, v in vars(summary).items()
                    if k != "loop"  # always "renewal"
                },
            }
        return result
    finally:
        await ctx.aclose()


def scan_process(spec: dict[str, Any], conn: Any) -> None:
    """Entry point of the scanning process."""
    try:
        for key in [k for k in os.environ if k.startswith("CERTCTL_")]:
            del os.environ[key]
        sink = _quiet_logging(Path(spec["log"]))
        factory = harness.loop_factory() if spec["loop"] == "uvloop" else None
        now = datetime.fromisoformat(spec["now"])
        with asyncio.Runner(loop_factory=factory) as runner:
            result = runner.run(_ticks(spec["url"], now, spec["db_pid"]))
        sink.close()
        conn.send(("result", result))
    except BaseException:
        conn.send(("failed", traceback.format_exc()))


def run_scan(url: str, estate: Estate, db_pid: int | None, loop: str, log: Path) -> dict:
    mp = multiprocessing.get_context("spawn")
    parent, child = mp.Pipe()
    spec = {"url": url, "now": estate.now.isoformat(), "db_pid": db_pid, "loop": loop}
    proc = mp.Process(target=scan_process, args=({**spec, "log": str(log)}, child), daemon=True)
    proc.start()
    try:
        if not parent.poll(SCAN_TIMEOUT_S):
            raise RuntimeError(f"the scanning process did not answer in {SCAN_TIMEOUT_S:.0f} s")
        kind, payload = parent.recv()
    finally:
        harness.stop_process(proc, timeout=30)
    if kind == "failed":
        raise RuntimeError(f"the scanning process failed:\n{payload}")
    return payload


# --------------------------------------------------------------------------- CPU floor


def _best_of(repeat: int, body: Callable[[], object]) -> float:
    best = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        body()
        best = min(best, time.perf_counter() - started)
    return best


def cpu_floor(estate: Estate) -> dict[str, Any]:
    """Pure-Python reference loops, no database: best of 3.

    anchor: SPEC C13's floor, 4 threshold comparisons for every certificate of the estate
            with days left already computed (about 20 ms per 100k on this machine kind);
    floor:  days_left() and crossed_thresholds() (the scan's own decision function, with the
            seeded policy) for every certificate the scan selects.
    """
    from certctl.domain.alerts import crossed_thresholds, days_left
    from certctl.domain.policies import RenewalPolicy

    policy = RenewalPolicy(
        id=POLICY_ID,
        name="bench-default",
        created_at=estate.now,
        updated_at=estate.now,
        renewal_window_days=WINDOW_DAYS,
        alert_thresholds_days=THRESHOLDS,
        alert_channels={k: tuple(v) for k, v in CHANNEL_MATRIX.items()},
    )
    now = estate.now
    expiries = list(estate.expiries())
    lefts = [days_left(e, now) for _, e in expiries]
    selected = [e for kind, e in expiries if kind != "far"]
    del expiries

    def anchor() -> int:
        n = 0
        for left in lefts:
            for t in THRESHOLDS:
                if left <= t:
                    n += 1
        return n

    def floor() -> int:
        return sum(
            len(crossed_thresholds(policy, expires_at=e, not_before=None, now=now))
            for e in selected
        )

    return {
        "anchor_s": round(_best_of(3, anchor), 4),
        "anchor_certificates": len(lefts),
        "floor_s": round(_best_of(3, floor), 4),
        "floor_certificates": len(selected),
    }


# --------------------------------------------------------------------------- orchestration


def seed(url: str, estate: Estate) -> dict[str, Any]:
    """Migrate, then COPY (and VACUUM ANALYZE) or executemany; the seconds each took."""
    asyncio.run(harness.migrate(url))
    started = time.perf_counter()
    vacuum = asyncio.run(harness.seed(url, seed_tables(estate)))
    load = time.perf_counter() - started - vacuum
    extra = f", then VACUUM ANALYZE {vacuum:.1f} s" if vacuum else ""
    certs = estate.certs
    print(f"  seeded {certs:,} certificates in {load:.1f} s ({certs / load:,.0f} rows/s){extra}")
    return {"seed_s": round(load, 2), "vacuum_analyze_s": round(vacuum, 2)}


def prepare_postgres(stack: contextlib.ExitStack, estate: Estate) -> tuple[str, int | None, dict]:
    cluster = harness.Cluster(stack)
    url = asyncio.run(cluster.create_database("certctl_bench"))
    info = seed(url, estate)
    return url, cluster.pid, {**info, "server_version": cluster.version}


def prepare_sqlite(workdir: Path, estate: Estate) -> tuple[str, int | None, dict]:
    url = harness.sqlite_url(workdir / "bench.db")
    info = seed(url, estate)
    return url, None, {**info, "server_version": sqlite3.sqlite_version}


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    idle_load = harness.background_load()
    estate = Estate(
        certs=args.certs,
        expiring_fraction=args.expiring_fraction,
        expired_fraction=args.expired_fraction,
        stale_status=args.stale_status,
        now=datetime.now(UTC).replace(microsecond=0),
    )
    counts = estate.counts()
    print(
        f"\n== {backend}: {args.certs:,} certificates, {counts['expiring']:,} expiring"
        + (f", {counts['expired']:,} expired" if counts["expired"] else "")
    )
    print(f"  background CPU before the run: {idle_load:.0f} % of one core")
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="certctl-bench-")))
        if backend == "postgresql":
            url, db_pid, info = prepare_postgres(stack, estate)
        else:
            url, db_pid, info = prepare_sqlite(workdir, estate)
        scan = run_scan(url, estate, db_pid, args.loop, workdir / "app.log")
        rows = asyncio.run(outbox_counts(url))
    expected = estate.expected_alerts()
    floor = cpu_floor(estate)
    report = {
        "database": {**info, "certificates": args.certs, **counts},
        "background_cpu_pct": idle_load,
        "loop": args.loop,
        "options": {"stale_status": args.stale_status},
        "expected_alerts": expected,
        "rows_after": rows,
        "scan": scan,
        "cpu_floor": floor,
    }
    report["checks"] = checks(report)
    report["targets"] = targets(report)
    print_table(backend, report)
    return report


def checks(report: dict[str, Any]) -> list[str]:
    """Correctness of what was measured: a fast scan that decided wrongly is no result."""
    problems = []
    db, scan = report["database"], report["scan"]
    selected = db["expiring"] + db["expired"]
    t1, t2 = scan["tick1"], scan["tick2"]
    if t1["certificates_scanned"] != selected or t2["certificates_scanned"] != selected:
        problems.append(
            f"scanned {t1['certificates_scanned']}/{t2['certificates_scanned']}, "
            f"expected {selected}"
        )
    if t1["alerts_enqueued"] != report["expected_alerts"]:
        problems.append(
            f"tick 1 enqueued {t1['alerts_enqueued']}, expected {report['expected_alerts']}"
        )
    if t2["alerts_enqueued"] != 0 or t2["deduped"] != report["expected_alerts"]:
        problems.append(
            f"tick 2 enqueued {t2['alerts_enqueued']} and deduped {t2['deduped']}, "
            f"expected 0 and {report['expected_alerts']}"
        )
    if report["rows_after"]["notification_events"] != report["expected_alerts"]:
        problems.append(f"outbox holds {report['rows_after']['notification_events']} rows")
    return problems


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """SPEC C13 verdict for the bound of this size (the nearest one, for reference, otherwise).

    A bound applies only at its own size with a 1 % expiring set and nothing expired; the
    measured figure is the slower of the two ticks.
    """
    db, scan = report["database"], report["scan"]
    certs, bound = min(TARGETS, key=lambda t: abs(math.log(t[0] / db["certificates"])))
    applies = (
        db["certificates"] == certs
        and math.isclose(db["expiring"] / certs, 0.01)
        and db["expired"] == 0
        and not report["options"]["stale_status"]
    )
    worst = max(scan["tick1"]["seconds"], scan["tick2"]["seconds"])
    return [
        {
            "target": f"expiry scan + alert decisions, {certs:,} certificates 1 % expiring"
            f" <= {bound:g} s",
            "measured_s": worst,
            "applies": applies,
            "within_bound": worst <= bound and not report["checks"],
            "met": applies and worst <= bound and not report["checks"],
        }
    ]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


COLUMNS = (
    ("phase", "phase", ""),
    ("scanned", "certificates_scanned", ","),
    ("enqueued", "alerts_enqueued", ","),
    ("deduped", "deduped", ","),
    ("status", "status_changes", ","),
    ("ms", "ms", ".1f"),
    ("scan CPU ms", "scan_cpu_ms", ".1f"),
    ("db CPU ms", "db_cpu_ms", ".1f"),
    ("peak RSS MiB", "peak_rss_mib", ".1f"),
)


def table_rows(scan: dict[str, Any], floor: dict[str, Any]) -> list[dict[str, Any]]:
    """Before the ticks, both ticks, then the floor and the anchor."""
    rows: list[dict[str, Any]] = [
        {
            "phase": "before (imports, context, 1 connection)",
            "peak_rss_mib": scan["before"]["rss_mib"],
        }
    ]
    for key, label in (("tick1", "tick 1: scan, enqueue"), ("tick2", "tick 2: scan, all deduped")):
        t = scan[key]
        rows.append(
            {
                **t,
                "phase": label,
                "ms": _ms(t["seconds"]),
                "scan_cpu_ms": _ms(t["scan_cpu_s"]),
                "db_cpu_ms": _ms(t["db_cpu_s"]),
            }
        )
    rows.append(
        {
            "phase": f"floor: crossed_thresholds x {floor['floor_certificates']:,}",
            "ms": _ms(floor["floor_s"]),
        }
    )
    rows.append(
        {
            "phase": f"anchor: 4 thresholds x {floor['anchor_certificates']:,}",
            "ms": _ms(floor["anchor_s"]),
        }
    )
    return rows


def print_table(backend: str, report: dict[str, Any]) -> None:
    db, scan, floor = report["database"], report["scan"], report["cpu_floor"]
    print(
        f"\n{backend} {db['server_version']}, {db['certificates']:,} certificates "
        f"({db['expiring']:,} expiring, {db['expired']:,} expired), event loop {report['loop']}:"
    )
    print(harness.markdown_table(COLUMNS, table_rows(scan, floor)))
    t1, t2 = scan["tick1"], scan["tick2"]
    grown = t2["peak_rss_mib"] - scan["before"]["rss_mib"]
    selected = max(t1["certificates_scanned"], 1)
    ratios = ", ".join(
        f"{label} / {ref} {t['seconds'] / floor[key]:.1f}x"
        for label, t in (("tick 1", t1), ("tick 2", t2))
        for ref, key in (("anchor", "anchor_s"), ("floor", "floor_s"))
        if floor[key] > 0
    )
    print(f"  {ratios}")
    print(
        f"  peak RSS growth over both ticks: {grown:.1f} MiB "
        f"({grown * 1024 / selected:.1f} KiB per selected certificate)"
    )
    print(f"  background CPU before the run: {report['background_cpu_pct']:.0f} % of one core")
    for problem in report["checks"]:
        print(f"  ! {problem}")
    for t in report["targets"]:
        verdict = "met" if t["within_bound"] else "NOT met"
        if not t["applies"]:
            verdict = f"reference only (run at another size or mix): {verdict}"
        print(f"  C13 {t['target']}: measured {t['measured_s']:.3f} s -> {verdict}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    p.add_argument("--certs", type=int, default=100_000, help="certificates to seed")
    p.add_argument(
        "--expiring-fraction", type=float, default=0.01, help="share inside the alert window"
    )
    p.add_argument(
        "--expired-fraction",
        type=float,
        default=0.0,
        help="share already expired (status Expired, never archived); 0 by default",
    )
    p.add_argument(
        "--stale-status",
        action="store_true",
        help="seed the expiring set as Active, so tick 1 also changes each one's status",
    )
    p.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="event loop of the scanning process (the server runs uvloop)",
    )
    p.add_argument("--json", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    args = p.parse_args(argv)
    if args.certs < 1:
        p.error("--certs must be positive")
    if not 0 < args.expiring_fraction <= 1 or not 0 <= args.expired_fraction < 1:
        p.error("--expiring-fraction must be in (0, 1] and --expired-fraction in [0, 1)")
    if args.expiring_fraction + args.expired_fraction > 1:
        p.error("--expiring-fraction + --expired-fraction must not exceed 1")
    return args


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds the ExitStack: the cluster gets stopped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    info = harness.machine()
    print(
        f"machine: {info['nproc']} cores, {info['cpu_model']}, {info['mem_total_gib']} GiB, "
        f"Python {info['python']}"
    )
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    report = {
        "benchmark": "expiry_scan",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "revision": harness.revision(),
        "machine": info,
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "backends": {b: run_backend(b, args) for b in backends},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    failed = any(r["checks"] for r in report["backends"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
