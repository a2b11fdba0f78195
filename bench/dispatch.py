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
import multiprocessing
import os
import resource
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import harness

RESULTS = Path(__file__).resolve().parent / "results" / "dispatch.json"
CERTS = 1000  # certificates the outbox rows point at (the foreign key is enforced)
DISPATCH_TIMEOUT_S = 900.0
RECEIVER_TIMEOUT_S = 30.0
MAX_DISPATCH_CALLS = 3
EVENT_COLUMNS = (
    "id",
    "kind",
    "channel",
    "status",
    "certificate_id",
    "version_ref",
    "threshold_days",
    "days_until_expiry",
    "severity_tier",
    "recipient",
    "subject",
    "message",
    "context",
    "incident_key",
    "dedup_key",
    "attempts",
    "created_at",
    "updated_at",
)
CERT_COLUMNS = (
    "id",
    "name",
    "common_name",
    "sans",
    "environment",
    "status",
    "expires_at",
    "tags",
    "source",
    "created_at",
    "updated_at",
)
TIERS = {30: "informational", 14: "warning", 7: "warning", 0: "critical"}
THROUGHPUT_TARGET = 2000.0  # deliveries/s to a local receiver
LATENCY_TARGET = (10_000, 200.0, 100, 25.0)  # deliveries, latency ms, concurrency, seconds


# --------------------------------------------------------------------------- the receiver

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
OK_CLOSE = OK.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1: answers 200 `ok` after `latency_s`, counts ids."""

    latency_s: float
    keep_alive: bool
    requests: int = 0
    ids: Counter[str] = field(default_factory=Counter)
    unparsable: int = 0
    connections: int = 0
    server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.server.wait_closed(), 2.0)

    def reset(self) -> None:
        self.requests, self.unparsable, self.connections = 0, 0, 0
        self.ids.clear()

    def stats(self) -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "requests": self.requests,
            "distinct_ids": len(self.ids),
            "duplicates": sum(n - 1 for n in self.ids.values() if n > 1),
            "unparsable": self.unparsable,
            "connections": self.connections,
            "cpu_s": usage.ru_utime + usage.ru_stime,
        }

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:  # one request per turn; ends when the client closes the connection
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                self.requests += 1
                try:
                    self.ids[str(json.loads(body)["id"])] += 1
                except (ValueError, KeyError, TypeError):
                    self.unparsable += 1
                if self.latency_s:
                    await asyncio.sleep(self.latency_s)
                writer.write(OK if self.keep_alive else OK_CLOSE)
                await writer.drain()
                if not self.keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()


def _loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    return harness.loop_factory() if name == "uvloop" else None


def receiver_process(latency_s: float, keep_alive: bool, loop: str, conn: Any) -> None:
    """Entry point of the receiver process: serves until told to stop or the parent leaves."""

    async def main() -> None:
        receiver = Receiver(latency_s, keep_alive)
        conn.send(("port", await receiver.start()))
        try:
            while True:
                try:
                    command = await asyncio.to_thread(conn.recv)
                except EOFError:
                    return
                if command == "stats":
                    conn.send(("stats", receiver.stats()))
                elif command == "reset":
                    receiver.reset()
                    conn.send(("reset", None))
                else:
                    return
        finally:
            await receiver.stop()

    with asyncio.Runner(loop_factory=_loop_factory(loop)) as runner:
        runner.run(main())


class ReceiverHandle:
    """The receiver, in its own process or on the caller's event loop."""

    def __init__(self, latency_s: float, keep_alive: bool, mode: str, loop: str) -> None:
        self.latency_s, self.keep_alive, self.mode, self.loop = latency_s, keep_alive, mode, loop
        self.proc: Any = None
        self.conn: Any = None
        self.local: Receiver | None = None
        self.port = 0

    async def start(self) -> str:
        if self.mode == "inprocess":
            self.local = Receiver(self.latency_s, self.keep_alive)
            self.port = await self.local.start()
        else:
            mp = multiprocessing.get_context("spawn")
            self.conn, child = mp.Pipe()
            self.proc = mp.Process(
                target=receiver_process,
                args=(self.latency_s, self.keep_alive, self.loop, child),
                daemon=True,
            )
            self.proc.start()
            self.port = self._ask(None, "port")
        return f"http://127.0.0.1:{self.port}/hook"

    def _ask(self, command: str | None, expect: str) -> Any:
        if command is not None:
            self.conn.send(command)
        if not self.conn.poll(RECEIVER_TIMEOUT_S):
            raise RuntimeError("the receiver process did not answer")
        kind, payload = self.conn.recv()
        if kind != expect:
            raise RuntimeError(f"the receiver answered {kind!r} to {command!r}")
        return payload

    def stats(self) -> dict[str, Any]:
        if self.local is not None:
            stats = self.local.stats()
            stats["cpu_s"] = None  # shares the dispatcher's process: not separable
            return stats
        return self._ask("stats", "stats")

    def reset(self) -> None:
        if self.local is not None:
            self.local.reset()
        else:
            self._ask("reset", "reset")

    async def stop(self) -> None:
        if self.local is not None:
            await self.local.stop()
            return
        if self.proc is None:
            return
        with contextlib.suppress(OSError, ValueError):
            self.conn.send("stop")
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.proc = None


# --------------------------------------------------------------------------- seeding


def sample_context(index: int, now: datetime) -> tuple[dict[str, Any], int, int, str]:
    """(context, threshold, days left, certificate id) as the expiry scan writes them."""
    threshold = (30, 14, 7, 0)[index % 4]
    left = max(0, threshold - index % 5)
    cert = index % CERTS
    cn = f"svc{cert:06d}.payments.production.example.com"
    context = {
        "certificate_name": cn,
        "common_name": cn,
        "sans": [cn, f"www.{cn}"],
        "environment": "production",
        "owner_name": "Carol",
        "team_name": "Payments",
        "issuer_name": "",
        "expires_at": (now + timedelta(days=left, hours=6)).isoformat(),
        "days_left": left,
        "link": None,
    }
    return context, threshold, left, f"mc-disp-{cert:06d}"


def event_rows(count: int, tag: str, now: datetime) -> list[tuple[Any, ...]]:
    """Pending Webhook rows in EVENT_COLUMNS order, oldest first (context as JSON text)."""
    rows = []
    for index in range(count):
        context, threshold, left, cert_id = sample_context(index, now)
        name = context["certificate_name"]
        subject = f"Certificate {name} expires in {left} days ({context['expires_at'][:10]})"
        if left == 0:
            subject = f"[EXPIRES TODAY] Certificate {name} expires at {context['expires_at']}"
        message = "\n".join(
            [
                subject,
                "",
                f"Certificate: {name}",
                f"Common name: {name}",
                f"SANs: {', '.join(context['sans'])}",
                f"Owner: {context['owner_name']}",
                f"Team: {context['team_name']}",
                f"Environment: {context['environment']}",
                "",
                "What to do: renew the certificate (or confirm its renewal job is running).",
            ]
        )
        version = f"{tag}-{index}"  # one version per row keeps every dedup key distinct
        created = now - timedelta(milliseconds=count - index)
        rows.append(
            (
                f"ne-{tag}-{index:07d}",
                "expiration",
                "Webhook",
                "pending",
                cert_id,
                version,
                threshold,
                left,
                TIERS[threshold],
                "carol@example.com",
                subject,
                message,
                json.dumps(context),
                f"certctl-{cert_id}-{version}-T{threshold}",
                f"{tag}{index:032d}"[-40:],
                0,
                created,
                created,
            )
        )
    return rows


def cert_rows(now: datetime) -> list[tuple[Any, ...]]:
    rows = []
    for index in range(CERTS):
        cn = f"svc{index:06d}.payments.production.example.com"
        rows.append(
            (
                f"mc-disp-{index:06d}",
                cn,
                cn,
                json.dumps([cn, f"www.{cn}"]),
                "production",
                "Expiring",
                now + timedelta(days=10),
                "{}",
                "import",
                now - timedelta(days=80),
                now - timedelta(days=80),
            )
        )
    return rows


def seed_tables(count: int, tag: str, now: datetime) -> list[harness.Table]:
    """The certificates the outbox rows point at (the foreign key is enforced), then the rows."""
    return [
        ("managed_certificates", CERT_COLUMNS, cert_rows(now)),
        ("notification_events", EVENT_COLUMNS, event_rows(count, tag, now)),
    ]


async def status_counts(url: str) -> dict[str, int]:
    """Outbox rows by status, read with the application's own engine."""
    from sqlalchemy import text

    from certctl.db.engine import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT status, count(*) FROM notification_events GROUP BY status")
            )
            return {str(status): int(n) for status, n in rows}
    finally:
        await engine.dispose()


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


def anchor_body() -> bytes:
    """An event of the size the Webhook notifier sends."""
    context, *_ = sample_context(0, datetime.now(UTC))
    return json.dumps(
        {"id": "anchor", "certificate": context, "type": "certificate.expiring"}
    ).encode()


async def transport_anchor(webhook: str, count: int, concurrency: int, settings: Any) -> dict:
    """N POSTs through the delivery transport built exactly as certctl.bootstrap builds it."""
    from certctl import __version__
    from certctl.connectors.notifiers.transport import AiohttpTransport, TransportFailure

    body = anchor_body()
    transport = AiohttpTransport(
        pool_size=max(100, settings.notification_concurrency),
        user_agent=f"certctl/{__version__}",
    )
    gate = asyncio.Semaphore(concurrency)
    codes: Counter[str] = Counter()

    async def one() -> None:
        async with gate:
            try:
                answer = await transport.post(
                    webhook,
                    body,
                    {"Content-Type": "application/json"},
                    time_limit=settings.notification_timeout_seconds,
                    max_bytes=64 * 1024,
                )
                codes[str(answer.status)] += 1
            except TransportFailure as exc:
                codes[exc.reason[:40]] += 1

    try:
        cpu0, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
    finally:
        await transport.aclose()
    return {"seconds": elapsed, "ok": codes.get("200", 0), "codes": dict(codes), "cpu_s": cpu}


async def raw_anchor(webhook: str, count: int, concurrency: int) -> dict:
    """N POSTs over `concurrency` keep-alive connections on bare asyncio streams.

    The machine's floor for this traffic: no client library, one request after the other on
    each connection (reconnecting when the receiver says `Connection: close`).
    """
    url = webhook.removeprefix("http://")
    hostport, _, path = url.partition("/")
    host, _, port = hostport.partition(":")
    body = anchor_body()
    head = (
        f"POST /{path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    codes: Counter[str] = Counter()

    async def worker(share: int) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for _ in range(share):
                writer.write(head + body)
                lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
                headers = dict(line.lower().split(b":", 1) for line in lines[1:] if b":" in line)
                await reader.readexactly(int(headers.get(b"content-length", b"0")))
                codes[lines[0].split(b" ", 2)[1].decode()] += 1
                if headers.get(b"connection", b"").strip() == b"close":
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, int(port))
        finally:
            writer.close()

    shares = [count // concurrency + (i < count % concurrency) for i in range(concurrency)]
    cpu0, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(n) for n in shares if n))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
    return {"seconds": elapsed, "ok": codes.get("200", 0), "codes": dict(codes), "cpu_s": cpu}


async def anchors(
    webhook: str, receiver: ReceiverHandle, settings: Any, args: argparse.Namespace
) -> dict[str, Any]:
    count = min(args.anchor_requests, args.deliveries)
    out = {}
    for name in ("raw", "transport"):
        if name == "raw":
            a = await raw_anchor(webhook, count, args.concurrency)
        else:
            a = await transport_anchor(webhook, count, args.concurrency, settings)
        out[name] = {
            "requests": count,
            "seconds": round(a["seconds"], 3),
            "per_s": round(a["ok"] / a["seconds"], 1),
            "ok": a["ok"],
            "codes": a["codes"],
            "client_cpu_ms_per_request": round(1000 * a["cpu_s"] / max(a["ok"], 1), 3),
        }
        receiver.reset()
    return out


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
        with asyncio.Runner(loop_factory=_loop_factory(args.loop)) as runner:
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
