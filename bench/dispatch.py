"""Outbox delivery: NotificationService.dispatch() to a local webhook receiver (C13).

For each backend (a SQLite file and/or a throwaway PostgreSQL cluster) and each receiver
latency (0 ms and 200 ms by default) it seeds N pending notification_events rows for the
Webhook channel into a freshly migrated database, points CERTCTL_WEBHOOK_URL at a receiver on
127.0.0.1 (CERTCTL_ALLOW_PRIVATE_TARGETS=true, CERTCTL_NOTIFICATION_CONCURRENCY=C), builds the
application context as the server does and times one `dispatch()`: it claims, delivers and
records results until the outbox is empty. Every row must end `sent` and the receiver must
have seen every notification id exactly once; errors are printed otherwise.

    .venv/bin/python bench/dispatch.py --deliveries 500                  # small, ~1.5 minutes
    .venv/bin/python bench/dispatch.py                                   # 10,000 deliveries
    .venv/bin/python bench/dispatch.py --backend postgresql --latency-ms 200

The receiver runs in its own process by default (`--receiver process`): a real webhook
endpoint is another machine, so its work must not be charged to the dispatcher's event loop
and GIL, and the dispatcher's slowness must not delay its answers. `--receiver inprocess` runs
the same receiver on the dispatcher's loop, for comparison. It is a minimal asyncio HTTP/1.1
server that keeps connections alive (as real endpoints do; `--receiver-connection close`
answers `Connection: close` like certctl.testing.receivers.RecordingReceiver), waits the
latency before answering and counts the notification ids it receives.

Anchors, measured in the same run against the same receiver at the same concurrency, with
min(N, --anchor-requests) POSTs of an event of the same size, no database and no outbox:

  asyncio streams     one keep-alive connection per concurrent sender, bare HTTP/1.1: the
                      floor of this traffic on this machine;
  app transport       the aiohttp delivery transport built as certctl.bootstrap builds it:
                      the ceiling the application's HTTP client allows.

With a latency L the ideal time is ceil(N / C) x L. CPU columns are % of one core over the
dispatch; `CPU ms/each` is the dispatcher's (or the anchor client's) CPU per delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import harness
from dispatch_anchors import anchors
from dispatch_outbox import seed_tables, status_counts
from dispatch_receiver import ReceiverHandle, event_loop_factory

RESULTS = Path(__file__).resolve().parent / "results" / "dispatch.json"
DISPATCH_TIMEOUT_S = 900.0
MAX_DISPATCH_CALLS = 3
THROUGHPUT_TARGET = 2000.0  # deliveries/s to a local receiver
LATENCY_TARGET = (10_000, 200.0, 100, 25.0)  # deliveries, latency ms, concurrency, seconds


# --------------------------------------------------------------------------- the receiver

# --------------------------------------------------------------------------- seeding


# --------------------------------------------------------------------------- CPU accounting


@dataclass
class Cpu:
    """CPU seconds of the dispatcher (this process), the database and the whole machine."""

    at: float
    own: float
    db: float | None
    machine: float

    @classmethod
    def take(cls, db_pid: int | None) -> Cpu:
        return cls(
            time.monotonic(),
            time.process_time(),
            harness.tree_cpu_seconds(db_pid),
            harness.machine_busy_seconds(),
        )


def cpu_pct(before: Cpu, after: Cpu, receiver_s: float | None) -> dict[str, float | None]:
    """% of one core over the interval; `other` is what processes outside the bench used."""
    wall = max(after.at - before.at, 1e-9)
    own = after.own - before.own
    db = None if before.db is None or after.db is None else after.db - before.db
    machine = after.machine - before.machine
    other = machine - own - (db or 0.0) - (receiver_s or 0.0)
    return {
        "dispatcher_cpu_pct": round(100 * own / wall, 1),
        "db_cpu_pct": None if db is None else round(100 * db / wall, 1),
        "receiver_cpu_pct": None if receiver_s is None else round(100 * receiver_s / wall, 1),
        "other_cpu_pct": round(max(0.0, 100 * other / wall), 1),
        "dispatcher_cpu_ms_per_delivery": None,
    }


# --------------------------------------------------------------------------- one scenario


def _quiet_logging(path: Path) -> Any:
    """The app's JSON logging (one line per delivery), written to a file, not the terminal."""
    from certctl.logconfig import configure_logging

    sink = path.open("a", buffering=1)
    saved, sys.stderr = sys.stderr, sink
    try:
        configure_logging(level="info", fmt="json")
    finally:
        sys.stderr = saved
    return sink


def app_settings(url: str, webhook: str, concurrency: int) -> Any:
    """Settings from CERTCTL_* variables, as the server reads them."""
    from certctl.settings import load_settings

    for key in [k for k in os.environ if k.startswith("CERTCTL_")]:
        del os.environ[key]
    os.environ.update(
        {
            "CERTCTL_DATABASE_URL": url,
            "CERTCTL_WEBHOOK_URL": webhook,
            "CERTCTL_ALLOW_PRIVATE_TARGETS": "true",
            "CERTCTL_NOTIFICATION_CONCURRENCY": str(concurrency),
        }
    )
    return load_settings()


async def dispatch_all(ctx: Any, deadline: float) -> tuple[list[dict[str, Any]], int]:
    """dispatch() until a call claims nothing (normally one call does it all); bounded."""
    summaries = []
    for _ in range(MAX_DISPATCH_CALLS):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        async with asyncio.timeout(remaining):
            summary = await ctx.notifications.dispatch()
        summaries.append(vars(summary))
        if summary.claimed == 0 or summary.sent == summary.claimed:
            break
    return summaries, len(summaries)


async def run_scenario(
    url: str, db_pid: int | None, latency_ms: float, args: argparse.Namespace, log: Path
) -> dict[str, Any]:
    from certctl.bootstrap import build_context

    receiver = ReceiverHandle(
        latency_ms / 1000, args.receiver_connection == "keep-alive", args.receiver, args.loop
    )
    try:
        webhook = await receiver.start()
        settings = app_settings(url, webhook, args.concurrency)
        result: dict[str, Any] = {}
        if args.anchor_requests:
            result["anchors"] = await anchors(webhook, receiver, settings, args)
        log_offset = _size(log)
        ctx = build_context(settings)
        try:
            async with ctx.runtime.db.uow() as uow:  # one warm pooled connection
                await uow.ping()
            rx0 = receiver.stats()
            before = Cpu.take(db_pid)
            started = time.perf_counter()
            summaries, calls = await dispatch_all(ctx, time.monotonic() + DISPATCH_TIMEOUT_S)
            elapsed = time.perf_counter() - started
            after = Cpu.take(db_pid)
            rx1 = receiver.stats()
        finally:
            await ctx.aclose()
        receiver_cpu = None if rx0["cpu_s"] is None else rx1["cpu_s"] - rx0["cpu_s"]
        counts = await status_counts(url)
        sent = counts.get("sent", 0)
        cpu = cpu_pct(before, after, receiver_cpu)
        cpu["dispatcher_cpu_ms_per_delivery"] = round(
            1000 * (after.own - before.own) / max(sent, 1), 3
        )
        result["dispatch"] = {
            "seconds": round(elapsed, 3),
            "per_s": round(sent / elapsed, 1),
            "sent": sent,
            "failed": sum(n for s, n in counts.items() if s != "sent"),
            "by_status": counts,
            "dispatch_calls": calls,
            "summaries": summaries,
            "receiver": {k: v for k, v in rx1.items() if k != "cpu_s"},
            **cpu,
        }
        result["errors"] = failure_lines(log, log_offset, counts, rx1, args.deliveries)
        return result
    finally:
        await receiver.stop()


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def failure_lines(
    log: Path, offset: int, counts: dict[str, int], rx: dict[str, Any], n: int
) -> list[str]:
    """Why not every row ended sent exactly once: statuses, receiver tally, logged errors."""
    problems = []
    if counts.get("sent", 0) != n or len(counts) != 1:
        problems.append(f"outbox statuses {counts}, expected {{'sent': {n}}}")
    if rx["distinct_ids"] != n or rx["duplicates"] or rx["unparsable"]:
        problems.append(
            f"receiver saw {rx['requests']} requests, {rx['distinct_ids']} distinct ids, "
            f"{rx['duplicates']} duplicates, {rx['unparsable']} unparsable (expected {n} ids)"
        )
    if problems:
        errors: Counter[str] = Counter()
        with contextlib.suppress(OSError):
            with log.open("rb") as f:
                f.seek(offset)
                lines = f.read().decode(errors="replace").splitlines()
            for line in lines:
                with contextlib.suppress(ValueError):
                    entry = json.loads(line)
                    if entry.get("level") in {"warning", "error"}:
                        errors[f"{entry.get('event')}: {entry.get('error', '')}"] += 1
        problems += [f"{n} x {text}" for text, n in errors.most_common(5)]
    return problems


# --------------------------------------------------------------------------- orchestration


class Backend:
    """A database server for the run: fresh, migrated, seeded databases on demand."""

    def __init__(self, name: str, stack: contextlib.ExitStack, workdir: Path) -> None:
        self.name, self.workdir = name, workdir
        self.db_pid: int | None = None
        self.version = sqlite3.sqlite_version
        self.cluster: harness.Cluster | None = None
        if name == "postgresql":
            self.cluster = harness.Cluster(stack)
            self.db_pid = self.cluster.pid

    async def fresh(self, tag: str, count: int) -> str:
        now = datetime.now(UTC)
        if self.cluster is None:
            url = harness.sqlite_url(self.workdir / f"{tag}.db")
        else:
            url = await self.cluster.create_database(tag)
            self.version = self.cluster.version
        await harness.migrate(url)
        await harness.seed(url, seed_tables(count, tag, now))
        return url


async def run_backend_async(backend: Backend, args: argparse.Namespace) -> list[dict[str, Any]]:
    scenarios = []
    for index, latency in enumerate(args.latency_ms):
        tag = f"bench{index}"
        started = time.perf_counter()
        url = await backend.fresh(tag, args.deliveries)
        print(
            f"  seeded {args.deliveries:,} pending rows in {time.perf_counter() - started:.1f} s;"
            f" latency {latency:g} ms, concurrency {args.concurrency}"
        )
        result = await run_scenario(url, backend.db_pid, latency, args, backend.workdir / "app.log")
        scenarios.append({"latency_ms": latency, **result})
    return scenarios


def run_backend(name: str, args: argparse.Namespace) -> dict[str, Any]:
    idle_load = harness.background_load()
    print(f"\n== {name}: {args.deliveries:,} deliveries, concurrency {args.concurrency}")
    print(f"  background CPU before the run: {idle_load:.0f} % of one core")
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="certctl-bench-")))
        backend = Backend(name, stack, workdir)
        stack.callback(_quiet_logging(workdir / "app.log").close)
        with asyncio.Runner(loop_factory=event_loop_factory(args.loop)) as runner:
            scenarios = runner.run(run_backend_async(backend, args))
    report = {
        "database": {"server_version": backend.version},
        "background_cpu_pct": idle_load,
        "scenarios": scenarios,
    }
    report["targets"] = targets(scenarios, args)
    print_table(name, report, args)
    return report


def targets(scenarios: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    """SPEC C13 verdicts; each bound applies only under its own conditions."""
    out = []
    n, latency, conc, bound_s = LATENCY_TARGET
    for s in scenarios:
        d = s["dispatch"]
        clean = not s["errors"]
        if s["latency_ms"] == 0:
            out.append(
                {
                    "target": f"outbox to a local receiver >= {THROUGHPUT_TARGET:,.0f} deliveries/s",
                    "measured": d["per_s"],
                    "within_bound": clean and d["per_s"] >= THROUGHPUT_TARGET,
                    "applies": args.receiver == "process",
                }
            )
        elif s["latency_ms"] == latency:
            applies = args.deliveries == n and args.concurrency == conc
            out.append(
                {
                    "target": f"{n:,} deliveries, receiver answering after {latency:g} ms, "
                    f"concurrency {conc}: <= {bound_s:g} s",
                    "measured": d["seconds"],
                    "within_bound": clean and d["seconds"] <= bound_s,
                    "applies": applies,
                }
            )
    for t in out:
        t["met"] = t["within_bound"] and t["applies"]
    return out


COLUMNS = (
    ("scenario", "scenario", ""),
    ("requests", "requests", ","),
    ("failed", "failed", ","),
    ("seconds", "seconds", ".2f"),
    ("per s", "per_s", ",.0f"),
    ("ideal s", "ideal_s", ".1f"),
    ("CPU ms/each", "cpu_ms_each", ".2f"),
    ("dispatcher", "dispatcher_cpu_pct", ".0f"),
    ("db", "db_cpu_pct", ".0f"),
    ("receiver", "receiver_cpu_pct", ".0f"),
    ("other", "other_cpu_pct", ".0f"),
)
ANCHOR_LABELS = {"raw": "asyncio streams", "transport": "app transport (aiohttp)"}


def table_rows(report: dict[str, Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Per scenario: its anchors, then dispatch() itself."""
    rows: list[dict[str, Any]] = []
    for s in report["scenarios"]:
        latency = s["latency_ms"]
        for kind, a in s.get("anchors", {}).items():
            ideal = math.ceil(a["requests"] / args.concurrency) * latency / 1000
            rows.append(
                {
                    "scenario": f"anchor: {ANCHOR_LABELS[kind]}, {latency:g} ms",
                    "requests": a["requests"],
                    "failed": a["requests"] - a["ok"],
                    "seconds": a["seconds"],
                    "per_s": a["per_s"],
                    "ideal_s": ideal if latency else None,
                    "cpu_ms_each": a["client_cpu_ms_per_request"],
                }
            )
        d = s["dispatch"]
        ideal = math.ceil(args.deliveries / args.concurrency) * latency / 1000
        rows.append(
            {
                **d,
                "scenario": f"dispatch(), receiver {latency:g} ms",
                "requests": args.deliveries,
                "ideal_s": ideal if latency else None,
                "cpu_ms_each": d["dispatcher_cpu_ms_per_delivery"],
            }
        )
    return rows


def print_table(name: str, report: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"\n{name} {report['database']['server_version']}, {args.deliveries:,} deliveries, "
        f"concurrency {args.concurrency}, receiver {args.receiver} "
        f"({args.receiver_connection}), loop {args.loop}; CPU in % of one core:"
    )
    print(harness.markdown_table(COLUMNS, table_rows(report, args)))
    for s in report["scenarios"]:
        d, anchors_ = s["dispatch"], s.get("anchors", {})
        ratios = "; ".join(
            f"dispatch() / {kind} anchor {d['per_s'] / a['per_s']:.2f}"
            for kind, a in anchors_.items()
            if a["per_s"]
        )
        print(
            f"  {s['latency_ms']:g} ms: {ratios + '; ' if ratios else ''}"
            f"receiver saw {d['receiver']['connections']:,} connections"
        )
        for problem in s["errors"]:
            print(f"  ! {s['latency_ms']:g} ms: {problem}")
    print(f"  background CPU before the run: {report['background_cpu_pct']:.0f} % of one core")
    for t in report["targets"]:
        verdict = "met" if t["within_bound"] else "NOT met"
        if not t["applies"]:
            verdict = f"reference only (other size, concurrency or receiver): {verdict}"
        print(f"  C13 {t['target']}: measured {t['measured']:,.2f} -> {verdict}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    p.add_argument("--deliveries", type=int, default=10_000, help="pending rows to deliver")
    p.add_argument(
        "--concurrency", type=int, default=100, help="CERTCTL_NOTIFICATION_CONCURRENCY (1-1000)"
    )
    p.add_argument(
        "--latency-ms",
        type=float,
        nargs="+",
        default=[0.0, 200.0],
        help="receiver answer delays, one scenario each (default 0 200)",
    )
    p.add_argument(
        "--receiver",
        choices=("process", "inprocess"),
        default="process",
        help="receiver in its own process (default) or on the dispatcher's loop",
    )
    p.add_argument(
        "--receiver-connection",
        choices=("keep-alive", "close"),
        default="keep-alive",
        help="whether the receiver keeps connections open",
    )
    p.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="event loop of the dispatcher and receiver (the server runs uvloop)",
    )
    p.add_argument(
        "--anchor-requests",
        type=int,
        default=2000,
        help="POSTs of each anchor (raw asyncio, app transport), capped at --deliveries; 0 skips them",
    )
    p.add_argument("--json", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    args = p.parse_args(argv)
    if args.deliveries < 1 or not 1 <= args.concurrency <= 1000:
        p.error("--deliveries must be positive and --concurrency within 1-1000")
    if any(not 0 <= latency <= 5000 for latency in args.latency_ms):
        p.error("--latency-ms values must be within 0-5000")
    return args


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds: receiver and cluster get stopped


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
        "benchmark": "dispatch",
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
    failed = any(s["errors"] for r in report["backends"].values() for s in r["scenarios"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
