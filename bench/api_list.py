"""Throughput and latency of the certificate list and create API against a real server (C13).

Seeds N managed certificates straight into a freshly migrated database (a SQLite file and/or a
throwaway PostgreSQL cluster), starts `certctl serve` as a subprocess on 127.0.0.1, drives it
from a separate load-generator process and prints one table per backend, plus JSON (default
bench/results/api_list.json, git-ignored).

    .venv/bin/python bench/api_list.py --certs 2000 --duration 3    # CI size, under 2 minutes
    .venv/bin/python bench/api_list.py                              # 100,000 certificates

Load generator: asyncio on uvloop in its own process (spawned per scenario), so it has its
own interpreter and GIL and its CPU use can be measured apart from the server's. On a 2-core
machine it still shares the cores with the server workers and the database, so every row
reports the CPU used by the client, the server, PostgreSQL and everything else. The default
client is a minimal HTTP/1.1 keep-alive client on asyncio streams (about 0.05 ms of CPU per
request); `--client httpx` uses httpx.AsyncClient instead, which costs 1.3-3 ms of CPU per
request here and caps a single client process at a few hundred req/s.

Closed loop: C clients each send the next request when the last one answered (throughput).
Open loop: requests leave on a fixed schedule whatever the answers do, and latency is counted
from each request's scheduled time, so a server that falls behind shows up in p99 instead of
being hidden (no coordinated omission). Every loop is bounded: closed loops stop at the
deadline, open loops send rate x duration requests, each request times out after 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import multiprocessing
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

API_KEY = "bench-key-123456"
LIST_PATH = "/api/v1/certificates?per_page=50&status=Expiring&sort=expires_at"
CREATE_PATH = "/api/v1/certificates"
REQUEST_TIMEOUT = 10.0
MAX_IN_FLIGHT = 512
IDLE_REUSE_S = 2.0
SETTLED_CPU_PCT = 10.0
RESULTS = Path(__file__).resolve().parent / "results" / "api_list.json"
CLK_TCK = os.sysconf("SC_CLK_TCK")

TEAMS = ("platform", "payments", "identity", "data")
OWNERS = (
    ("alice", "platform"),
    ("bob", "platform"),
    ("carol", "payments"),
    ("dave", "payments"),
    ("erin", "identity"),
    ("frank", "identity"),
    ("grace", "data"),
    ("heidi", "data"),
)
ENVIRONMENTS = (("production", 0.5), ("staging", 0.3), ("internal", 0.2))
SOURCES = (("manual", 0.4), ("import", 0.3), ("issued", 0.2), ("discovery", 0.1))
CERT_COLUMNS = (
    "id",
    "name",
    "common_name",
    "sans",
    "environment",
    "owner_id",
    "team_id",
    "status",
    "expires_at",
    "tags",
    "source",
    "last_renewal_at",
    "revoked_at",
    "revocation_reason",
    "created_at",
    "updated_at",
)
# (scenario key, result field, comparison, bound, SPEC C13 wording)
TARGETS = (
    ("list_max", "req_per_s", ">=", 1000.0, "GET list filter+sort >= 1,000 req/s on 2 workers"),
    ("list_rate", "p99_ms", "<=", 50.0, "GET list filter+sort p99 <= 50 ms at 200 req/s"),
    ("create_rate", "p99_ms", "<=", 50.0, "POST create p99 <= 50 ms at 100 req/s"),
)
TARGET_RATES = {"list_rate": 200.0, "create_rate": 100.0}


# --------------------------------------------------------------------------- seeding


def seed_id(index: int) -> str:
    """Id of the index-th seeded certificate (the anchor scenario reads them back)."""
    return f"mc-seed-{index:07d}"


def _pick(roll: float, choices: tuple[tuple[str, float], ...]) -> str:
    for value, weight in choices:
        if roll < weight:
            return value
        roll -= weight
    return choices[-1][0]


def _status(roll: float, left_days: float) -> str:
    """A status consistent with the expiry date, plus the off-path states real estates have."""
    for status, upto in (("Pending", 0.02), ("Revoked", 0.05), ("Archived", 0.08)):
        if roll < upto:
            return status
    if roll < 0.10:
        return "Failed"
    if left_days <= 0:
        return "Expired"
    if left_days <= 30:
        return "RenewalInProgress" if roll < 0.2 else "Expiring"
    return "Active"


def cert_rows(count: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    """Realistic certificates in CERT_COLUMNS order (sans and tags as JSON text).

    Expiry is uniform over now +-400 days, so about 3 % are Expiring, 45 % Expired and the
    rest mostly Active; environments, owners, teams and sources are spread the same way.
    """
    rand = random.Random(20261128).random
    for index in range(count):
        env = _pick(rand(), ENVIRONMENTS)
        owner, team = OWNERS[int(rand() * len(OWNERS))]
        cn = f"svc{index:06d}.{team}.{env}.example.com"
        left_days = rand() * 800 - 400
        expires_at = now + timedelta(days=left_days)
        status = _status(rand(), left_days)
        created = min(now, expires_at) - timedelta(days=30 + rand() * 335)
        revoked = status == "Revoked"
        yield (
            seed_id(index),
            cn,
            cn,
            f'["{cn}", "www.{cn}"]',
            env,
            f"o-{owner}",
            f"t-{team}",
            status,
            None if status == "Pending" else expires_at,
            f'{{"app": "app{index % 97}", "tier": "{("web", "api", "batch")[index % 3]}"}}',
            _pick(rand(), SOURCES),
            created if rand() < 0.3 else None,
            min(now, expires_at) if revoked else None,
            "superseded" if revoked else None,
            created,
            created,
        )


def inventory_rows(now: datetime) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Teams and owners the certificates reference (foreign keys are enforced)."""
    teams = [(f"t-{t}", t.title(), f"{t} team", now, now) for t in TEAMS]
    owners = [(f"o-{o}", o.title(), f"{o}@example.com", f"t-{t}", now, now) for o, t in OWNERS]
    return teams, owners


TEAM_INSERT = "INSERT INTO teams (id, name, description, created_at, updated_at) VALUES ({})"
OWNER_INSERT = "INSERT INTO owners (id, name, email, team_id, created_at, updated_at) VALUES ({})"


async def seed_postgres(url: str, count: int) -> float:
    """Binary COPY of the certificates, then VACUUM ANALYZE (the state autovacuum converges
    to); returns the seconds VACUUM ANALYZE took."""
    import asyncpg

    now = datetime.now(UTC)
    teams, owners = inventory_rows(now)
    # The throwaway cluster runs with synchronous_commit=off; hint bits (and so all-visible
    # pages, which index-only scans need) cannot be set on rows whose commit record is not
    # flushed yet, so the load commits synchronously or VACUUM leaves relallvisible at 0.
    conn = await asyncpg.connect(url, server_settings={"synchronous_commit": "on"})
    try:
        await conn.executemany(TEAM_INSERT.format("$1, $2, $3, $4, $5"), teams)
        await conn.executemany(OWNER_INSERT.format("$1, $2, $3, $4, $5, $6"), owners)
        await conn.copy_records_to_table(
            "managed_certificates", records=cert_rows(count, now), columns=list(CERT_COLUMNS)
        )
        started = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        visible = await conn.fetchval(
            "SELECT relallvisible::float / greatest(relpages, 1) FROM pg_class"
            " WHERE relname = 'managed_certificates'"
        )
        if visible < 0.99:
            print(f"  warning: only {visible:.0%} of managed_certificates pages all-visible")
        return time.perf_counter() - started
    finally:
        await conn.close()


def _sqlite_value(value: Any) -> Any:
    """The text SQLAlchemy's SQLite DateTime stores: naive UTC, always with microseconds."""
    if isinstance(value, datetime):  # every seeded datetime is already in UTC
        return value.isoformat(" ", "microseconds")[:26]
    return value


def seed_sqlite(path: Path, count: int) -> float:
    """sqlite3 executemany in one transaction, foreign keys on; no ANALYZE (the app runs none)."""
    import sqlite3

    now = datetime.now(UTC)
    teams, owners = inventory_rows(now)
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        with conn:
            conn.executemany(TEAM_INSERT.format("?, ?, ?, ?, ?"), map(_sqlite_row, teams))
            conn.executemany(OWNER_INSERT.format("?, ?, ?, ?, ?, ?"), map(_sqlite_row, owners))
            conn.executemany(
                f"INSERT INTO managed_certificates ({', '.join(CERT_COLUMNS)})"
                f" VALUES ({', '.join('?' * len(CERT_COLUMNS))})",
                map(_sqlite_row, cert_rows(count, now)),
            )
    finally:
        conn.close()
    return 0.0


def _sqlite_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(_sqlite_value(v) for v in row)


# --------------------------------------------------------------------------- processes


def _proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, CPU clock ticks including reaped children) for every live process."""
    table: dict[int, tuple[int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime + stime + the reaped children's cutime + cstime: a database backend or pool
        # connection that exits during a run keeps counting through its parent.
        table[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))
    return table


def tree_cpu_seconds(root: int | None, table: dict[int, tuple[int, int]]) -> float | None:
    """CPU seconds used so far by `root` and every live descendant."""
    if root is None or root not in table:
        return None
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    ticks, todo = 0, [root]
    while todo:
        pid = todo.pop()
        ticks += table[pid][1]
        todo.extend(children.get(pid, ()))
    return ticks / CLK_TCK


def machine_busy_seconds() -> float:
    """Busy CPU seconds of the whole machine, all cores (from /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / CLK_TCK


@dataclass
class CpuSnapshot:
    at: float
    server: float | None
    database: float | None
    machine: float
    children: dict[int, float]  # the server's direct children (its workers), each a tree

    @classmethod
    def take(cls, server_pid: int | None, db_pid: int | None) -> CpuSnapshot:
        table = _proc_table()
        children = {
            pid: tree_cpu_seconds(pid, table) or 0.0
            for pid, (ppid, _) in table.items()
            if server_pid is not None and ppid == server_pid
        }
        return cls(
            time.monotonic(),
            tree_cpu_seconds(server_pid, table),
            tree_cpu_seconds(db_pid, table),
            machine_busy_seconds(),
            children,
        )


def cpu_percent(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float | None]:
    """CPU used between two snapshots, in % of one core (the machine's total is nproc x 100)."""
    wall = max(after.at - before.at, 1e-9)

    def share(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else round(100 * (b - a) / wall, 1)

    per_child = [share(before.children.get(pid), cpu) for pid, cpu in after.children.items()]
    return {
        "server_cpu_pct": share(before.server, after.server),
        "db_cpu_pct": share(before.database, after.database),
        "machine_cpu_pct": share(before.machine, after.machine),
        "server_children_cpu_pct": sorted((c for c in per_child if c is not None), reverse=True),
    }


def settle(server_pid: int | None, db_pid: int | None, *, limit: float = 60.0) -> float:
    """Wait until the server and database are idle; return the seconds waited.

    After an overloaded open-loop run the server still works through requests the client has
    given up on, and at start it may run background jobs; measuring the next scenario before
    that is done would charge it for the previous one.
    """
    started = time.monotonic()
    quiet = 0
    while time.monotonic() - started < limit and quiet < 2:
        before = CpuSnapshot.take(server_pid, db_pid)
        time.sleep(0.5)
        cpu = cpu_percent(before, CpuSnapshot.take(server_pid, db_pid))
        busy = (cpu["server_cpu_pct"] or 0.0) + (cpu["db_cpu_pct"] or 0.0)
        quiet = quiet + 1 if busy < SETTLED_CPU_PCT else 0
    return round(time.monotonic() - started, 1)


class Server:
    """`certctl serve` as a subprocess in its own process group, stopped on exit."""

    def __init__(
        self, database_url: str, workers: int, workdir: Path, *, scheduler: bool = False
    ) -> None:
        self.database_url = database_url
        self.workers = workers
        self.scheduler = scheduler
        self.workdir = workdir
        self.log_path = workdir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.base_url = ""

    def start(self) -> None:
        from certctl.testing.postgres import free_port

        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCTL_")}
        env |= {
            "CERTCTL_DATABASE_URL": self.database_url,
            "CERTCTL_SERVER_HOST": "127.0.0.1",
            "CERTCTL_SERVER_PORT": str(port),
            "CERTCTL_SERVER_WORKERS": str(self.workers),
            "CERTCTL_API_KEYS_NAMED": f"bench:{API_KEY}:admin",
            "CERTCTL_RATE_LIMIT_API_KEY_PER_MINUTE": "0",
            "CERTCTL_LOG_LEVEL": "warning",
            "CERTCTL_DATA_DIR": str(self.workdir),
            # The periodic jobs (expiry scan at start, outbox dispatch) have their own
            # benchmarks; left on, their first expiry scan of a freshly seeded estate would
            # share the cores with the requests being measured.
            "CERTCTL_SCHEDULER_ENABLED": "true" if self.scheduler else "false",
        }
        binary = Path(sys.executable).parent / "certctl"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [str(binary), "serve"],
                env=env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.base_url = f"http://127.0.0.1:{port}"
        self._wait_ready(timeout=60.0)

    def _wait_ready(self, *, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/ready", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"server not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-3000:]
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
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None


# --------------------------------------------------------------------------- load generator


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    kind: str  # health | get | list | create
    concurrency: int
    rate: float | None  # None: closed loop at `concurrency`; else open loop at `rate` req/s
    duration: float
    warmup: float


@dataclass(frozen=True)
class LoadSpec:
    scenario: Scenario
    base_url: str
    certs: int
    tag: str
    client: str  # raw | httpx


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)


class RawHttp:
    """Minimal HTTP/1.1 keep-alive client on asyncio streams: a pool of idle connections.

    It speaks just enough HTTP for this server (Content-Length or chunked bodies) and costs
    about 0.05 ms of CPU per request where httpx costs 1.3-3 ms on this machine kind, so the
    load generator stops being the bottleneck of a 2-core run.
    """

    def __init__(self, base_url: str) -> None:
        hostport = base_url.removeprefix("http://")
        self.host, _, port = hostport.partition(":")
        self.port = int(port)
        self.prefix = f"Host: {hostport}\r\nAuthorization: Bearer {API_KEY}\r\n"
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The most recently used idle connection, else a new one.

        Connections idle for longer than IDLE_REUSE_S are dropped instead of reused: the
        server closes keep-alive connections after 5 s, and a request written into one it is
        closing would fail for reasons that have nothing to do with the server's speed.
        """
        now = time.monotonic()
        while self.idle:
            reader, writer, used = self.idle.pop()
            if now - used < IDLE_REUSE_S and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, body: bytes | None = None) -> int:
        head = f"{method} {path} HTTP/1.1\r\n{self.prefix}"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        reader, writer = await self._connection()
        try:
            writer.write(head.encode() + b"\r\n" + (body or b""))
            status, keep = await self._response(reader)
        except BaseException:
            writer.close()
            raise
        if keep:
            self.idle.append((reader, writer, time.monotonic()))
        else:
            writer.close()
        return status

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, bool]:
        lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = dict(line.lower().split(b":", 1) for line in lines[1:] if b":" in line)
        if b"content-length" in headers:
            await reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding", b"").strip() == b"chunked":
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                await reader.readexactly(size + 2)
            await reader.readuntil(b"\r\n")
        return status, headers.get(b"connection", b"").strip() != b"close"

    async def aclose(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()


class HttpxHttp:
    """The same interface over httpx.AsyncClient (the project's outbound HTTP library)."""

    def __init__(self, base_url: str, connections: int) -> None:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.client = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {API_KEY}"},
            limits=limits,
            timeout=REQUEST_TIMEOUT,
        )

    async def request(self, method: str, path: str, body: bytes | None = None) -> int:
        headers = {"Content-Type": "application/json"} if body is not None else None
        response = await self.client.request(method, path, content=body, headers=headers)
        return response.status_code

    async def aclose(self) -> None:
        await self.client.aclose()


Http = RawHttp | HttpxHttp
Send = Callable[[], Awaitable[int]]
TRANSPORT_ERRORS = (
    httpx.HTTPError,
    OSError,
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
    ValueError,
)


def sender(spec: LoadSpec, http: Http) -> Send:
    """The request one scenario repeats."""
    rng = random.Random(spec.tag)
    counter = itertools.count()
    kind = spec.scenario.kind
    if kind == "health":
        return lambda: http.request("GET", "/health")
    if kind == "list":
        return lambda: http.request("GET", LIST_PATH)
    if kind == "get":
        return lambda: http.request(
            "GET", f"/api/v1/certificates/{seed_id(rng.randrange(spec.certs))}"
        )

    def create() -> Awaitable[int]:
        name = f"bench-{spec.tag}-{next(counter):07d}.example.com"
        body = {
            "name": name,
            "common_name": name,
            "sans": [name],
            "environment": "staging",
            "owner_id": "o-alice",
            "team_id": "t-platform",
            "status": "Active",
            "expires_at": (datetime.now(UTC) + timedelta(days=rng.randint(1, 398))).isoformat(),
            "tags": {"app": "bench"},
        }
        return http.request("POST", CREATE_PATH, json.dumps(body).encode())

    return create


async def timed(send: Send, tally: Tally | None, started: float) -> None:
    """One request; latency counted from `started` (the scheduled time in open loop)."""
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            status = await send()
    except (*TRANSPORT_ERRORS, TimeoutError) as exc:
        if tally is not None:
            tally.codes[f"error:{type(exc).__name__}"] += 1
        return
    if tally is not None:
        tally.latencies.append(time.perf_counter() - started)
        tally.codes[str(status)] += 1


async def closed_loop(send: Send, concurrency: int, duration: float, tally: Tally | None) -> None:
    """`concurrency` clients each sending the next request as soon as the last one answered."""
    deadline = time.perf_counter() + duration

    async def client() -> None:
        while time.perf_counter() < deadline:
            await timed(send, tally, time.perf_counter())

    await asyncio.gather(*(client() for _ in range(concurrency)))


async def open_loop(send: Send, rate: float, duration: float, tally: Tally | None) -> None:
    """Send at a fixed schedule whatever the answers do; a bounded number of requests."""
    total = max(1, round(rate * duration))
    start = time.perf_counter()
    pending: set[asyncio.Task[None]] = set()
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(pending) >= MAX_IN_FLIGHT:
            if tally is not None:
                tally.codes["not-sent:in-flight-cap"] += 1
            continue
        task = asyncio.create_task(timed(send, tally, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.wait(pending)


def percentile(ordered: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of an ascending list, in milliseconds."""
    if not ordered:
        return None
    return round(1000 * ordered[min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1)], 2)


def summarise(tally: Tally, elapsed: float, client_cpu: float) -> dict[str, Any]:
    ordered = sorted(tally.latencies)
    ok = sum(n for code, n in tally.codes.items() if code.startswith("2"))
    total = sum(tally.codes.values())
    return {
        "requests": total,
        "ok": ok,
        "errors": total - ok,
        "codes": dict(tally.codes),
        "elapsed_s": round(elapsed, 3),
        "req_per_s": round(ok / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": percentile(ordered, 50),
        "p90_ms": percentile(ordered, 90),
        "p99_ms": percentile(ordered, 99),
        "max_ms": round(1000 * ordered[-1], 2) if ordered else None,
        "client_cpu_pct": round(100 * client_cpu / elapsed, 1) if elapsed > 0 else None,
    }


async def drive(spec: LoadSpec, conn: Any) -> dict[str, Any]:
    s = spec.scenario
    http: Http = RawHttp(spec.base_url)
    if spec.client == "httpx":
        http = HttpxHttp(spec.base_url, s.concurrency if s.rate is None else MAX_IN_FLIGHT)
    send = sender(spec, http)

    async def phase(duration: float, tally: Tally | None) -> None:
        if s.rate is None:
            await closed_loop(send, s.concurrency, duration, tally)
        else:
            await open_loop(send, s.rate, duration, tally)

    try:
        await phase(s.warmup, None)
        conn.send(("measuring", None))
        tally, cpu0, t0 = Tally(), time.process_time(), time.perf_counter()
        await phase(s.duration, tally)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        await http.aclose()
    return summarise(tally, elapsed, cpu)


def client_process(spec: LoadSpec, conn: Any) -> None:
    """Entry point of the load-generator process."""
    try:
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:
        factory = None
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            conn.send(("result", runner.run(drive(spec, conn))))
    except Exception as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))


def _receive(conn: Any, deadline: float) -> tuple[str, Any]:
    if not conn.poll(max(0.0, deadline - time.monotonic())):
        raise RuntimeError("load generator did not answer in time")
    kind, payload = conn.recv()
    if kind == "failed":
        raise RuntimeError(f"load generator failed: {payload}")
    return kind, payload


def run_scenario(spec: LoadSpec, server_pid: int | None, db_pid: int | None) -> dict[str, Any]:
    """One scenario in a fresh client process; server and database CPU sampled around it."""
    s = spec.scenario
    mp = multiprocessing.get_context("spawn")
    parent, child = mp.Pipe()
    proc = mp.Process(target=client_process, args=(spec, child), daemon=True)
    deadline = time.monotonic() + 30 + s.warmup + s.duration + 2 * REQUEST_TIMEOUT
    proc.start()
    try:
        _receive(parent, deadline)
        before = CpuSnapshot.take(server_pid, db_pid)
        _, result = _receive(parent, deadline)
        after = CpuSnapshot.take(server_pid, db_pid)
        proc.join(timeout=10)
    finally:
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join()
    offered = {"mode": "closed", "concurrency": s.concurrency}
    if s.rate is not None:
        offered = {"mode": "open", "rate": s.rate}
    cpu = cpu_percent(before, after)
    ours = sum(
        v or 0.0 for v in (result["client_cpu_pct"], cpu["server_cpu_pct"], cpu["db_cpu_pct"])
    )
    cpu["other_cpu_pct"] = round(max(0.0, (cpu["machine_cpu_pct"] or 0.0) - ours), 1)
    # CPU the server (and PostgreSQL) spent per answered request: unlike req/s and latency it
    # barely moves when other processes compete for the cores, and nproc x 1000 divided by
    # it bounds the rate the machine could serve with a free load generator.
    served = (cpu["server_cpu_pct"] or 0.0) + (cpu["db_cpu_pct"] or 0.0)
    per_req = 10 * served / result["req_per_s"] if result["req_per_s"] else None
    cpu["server_db_cpu_ms_per_req"] = None if per_req is None else round(per_req, 2)
    return {"key": s.key, "scenario": s.label, **offered, **result, **cpu}


# --------------------------------------------------------------------------- orchestration


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    c, d, w = args.concurrency, args.duration, args.warmup
    list_rate = args.rate or TARGET_RATES["list_rate"]
    create_rate = args.rate or TARGET_RATES["create_rate"]
    return [
        Scenario("health", f"anchor: GET /health, closed C={c}", "health", c, None, d, w),
        Scenario("get_by_id", f"anchor: GET cert by id, closed C={c}", "get", c, None, d, w),
        Scenario("list_max", f"GET list filter+sort, closed C={c}", "list", c, None, d, w),
        Scenario(
            "list_rate", f"GET list filter+sort @ {list_rate:g}/s", "list", c, list_rate, d, w
        ),
        Scenario("create_rate", f"POST create @ {create_rate:g}/s", "create", c, create_rate, d, w),
        Scenario("create_max", f"POST create, closed C={c}", "create", c, None, d, w),
    ]


def prepare_postgres(stack: contextlib.ExitStack, certs: int) -> tuple[str, int | None, dict]:
    import asyncpg

    from certctl.testing.postgres import ThrowawayCluster

    cluster = ThrowawayCluster()
    stack.callback(cluster.stop)
    cluster.start()

    async def create_db() -> str:
        admin = await asyncpg.connect(cluster.admin_url)
        try:
            await admin.execute("CREATE DATABASE certctl_bench")
            return str(await admin.fetchval("SHOW server_version"))
        finally:
            await admin.close()

    version = asyncio.run(create_db())
    url = cluster.url("certctl_bench")
    info = migrate_and_seed(url, certs, lambda: asyncio.run(seed_postgres(url, certs)))
    pid_file = cluster.datadir / "postmaster.pid"
    db_pid = int(pid_file.read_text().split("\n", 1)[0])
    return url, db_pid, {**info, "server_version": version}


def prepare_sqlite(workdir: Path, certs: int) -> tuple[str, int | None, dict]:
    path = workdir / "bench.db"
    url = f"sqlite+aiosqlite:///{path}"
    info = migrate_and_seed(url, certs, lambda: seed_sqlite(path, certs))
    import sqlite3

    return url, None, {**info, "server_version": sqlite3.sqlite_version}


def migrate_and_seed(url: str, certs: int, seed: Callable[[], float]) -> dict[str, Any]:
    """Migrate with the app's own Alembic chain, then bulk-load; seed() returns VACUUM time."""
    from certctl.bootstrap import migrate
    from certctl.settings import Settings

    asyncio.run(migrate(Settings(database_url=url)))
    started = time.perf_counter()
    vacuum = seed()
    took = time.perf_counter() - started
    load = took - vacuum
    extra = f", then VACUUM ANALYZE {vacuum:.1f} s" if vacuum else ""
    print(f"  seeded {certs:,} certificates in {load:.1f} s ({certs / load:,.0f} rows/s){extra}")
    return {
        "certificates": certs,
        "seed_s": round(load, 2),
        "seed_rows_per_s": round(certs / load),
        "vacuum_analyze_s": round(vacuum, 2),
    }


def allowed_workers(url: str, wanted: int) -> tuple[int, str]:
    """The worker count the server accepts for this database (it may refuse several on SQLite)."""
    from certctl.settings import Settings

    try:
        Settings(database_url=url, server_workers=wanted)
    except ValueError as exc:
        if wanted == 1:
            raise
        errors = getattr(exc, "errors", None)
        reason = errors()[0]["msg"].removeprefix("Value error, ") if errors else str(exc)
        return 1, f"the server refuses {wanted} here ({reason}); ran 1"
    return wanted, ""


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    idle_load = background_load()
    print(f"\n== {backend}: {args.certs:,} certificates")
    print(f"  background CPU before the run: {idle_load:.0f} % of one core")
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="certctl-bench-")))
        if backend == "postgresql":
            url, db_pid, seed = prepare_postgres(stack, args.certs)
        else:
            url, db_pid, seed = prepare_sqlite(workdir, args.certs)
        workers, workers_note = allowed_workers(url, args.workers)
        print(f"  server workers: {workers}" + (f" - {workers_note}" if workers_note else ""))
        server = Server(url, workers, workdir, scheduler=args.scheduler)
        stack.callback(server.stop)
        server.start()
        assert server.proc is not None
        results = []
        for index, scenario in enumerate(scenarios(args)):
            waited = settle(server.proc.pid, db_pid)
            tag = f"{backend}{index}p{os.getpid()}"
            spec = LoadSpec(scenario, server.base_url, args.certs, tag, args.client)
            results.append({**run_scenario(spec, server.proc.pid, db_pid), "settle_s": waited})
            print(f"  done: {scenario.label} (after {waited:.1f} s waiting for an idle server)")
        problems = server.log_tail() if any(r["errors"] for r in results) else ""
    report = {
        "database": seed,
        "client": args.client,
        "workers": workers,
        "workers_note": workers_note,
        "background_cpu_pct": idle_load,
        "scenarios": results,
        "targets": check_targets(results, backend, workers),
    }
    if problems:
        report["server_log_tail"] = problems
    print_table(backend, report)
    return report


def check_targets(results: list[dict[str, Any]], backend: str, workers: int) -> list[dict]:
    """SPEC C13 verdicts. A target applies only under its own conditions (PostgreSQL, 2 workers,
    its rate); elsewhere the bound is shown for reference. Any error fails the target."""
    by_key = {r["key"]: r for r in results}
    checks = []
    for key, metric, op, bound, text in TARGETS:
        r = by_key[key]
        value = r[metric]
        within = value is not None and (value >= bound if op == ">=" else value <= bound)
        within = within and not r["errors"]
        conditions = []
        if backend != "postgresql":
            conditions.append(f"stated for PostgreSQL, not {backend}")
        if workers != 2:
            conditions.append(f"{workers} worker(s), not 2")
        if key in TARGET_RATES and r["rate"] != TARGET_RATES[key]:
            conditions.append(f"run at {r['rate']:g}/s")
        checks.append(
            {
                "target": text,
                "measured": value,
                "errors": r["errors"],
                "within_bound": within,
                "applies": not conditions,
                "met": within and not conditions,
                "conditions": conditions,
            }
        )
    return checks


def _cell(value: Any, fmt: str = "") -> str:
    return "-" if value is None else format(value, fmt)


COLUMNS = (
    ("scenario", 38, "scenario", ""),
    ("requests", 8, "requests", ""),
    ("errors", 6, "errors", ""),
    ("req/s", 7, "req_per_s", ".0f"),
    ("p50 ms", 7, "p50_ms", ".1f"),
    ("p99 ms", 7, "p99_ms", ".1f"),
    ("client", 6, "client_cpu_pct", ".0f"),
    ("server", 6, "server_cpu_pct", ".0f"),
    ("db", 5, "db_cpu_pct", ".0f"),
    ("other", 5, "other_cpu_pct", ".0f"),
    ("ms/req", 6, "server_db_cpu_ms_per_req", ".1f"),
)


def _line(cells: list[str]) -> str:
    parts = [
        c.ljust(w) if i == 0 else c.rjust(w)
        for i, (c, (_, w, _, _)) in enumerate(zip(cells, COLUMNS, strict=True))
    ]
    return "  ".join(parts)


def print_table(backend: str, report: dict[str, Any]) -> None:
    db = report["database"]
    print(
        f"\n{backend} {db['server_version']}, {db['certificates']:,} certificates, "
        f"{report['workers']} server worker(s), {report['client']} client; CPU columns in % of one core (machine = "
        f"{len(os.sched_getaffinity(0))} x 100), other = processes outside this benchmark,"
        " ms/req = server + database CPU per answered request:"
    )
    print(_line([head for head, _, _, _ in COLUMNS]))
    for r in report["scenarios"]:
        print(_line([_cell(r[key], fmt) for _, _, key, fmt in COLUMNS]))
    for r in report["scenarios"]:
        if r["errors"]:
            print(f"  ! {r['scenario']}: {r['errors']} errors, responses {r['codes']}")
        split = r["server_children_cpu_pct"][: report["workers"]]
        if report["workers"] > 1 and len(split) > 1 and split[0] > 50 and split[0] > 3 * split[-1]:
            shares = " / ".join(f"{c:.0f} %" for c in split)
            print(f"  ! {r['scenario']}: load not spread over the workers (CPU {shares})")
    by_key = {r["key"]: r for r in report["scenarios"]}
    if by_key["get_by_id"]["req_per_s"]:
        ratio = by_key["list_max"]["req_per_s"] / by_key["get_by_id"]["req_per_s"]
        print(f"  list throughput / primary-key-read anchor: {ratio:.2f}")
    for t in report["targets"]:
        verdict = "met" if t["within_bound"] else "NOT met"
        if not t["applies"]:
            verdict = f"reference only ({'; '.join(t['conditions'])}): {verdict}"
        errors = f", {t['errors']} errors" if t["errors"] else ""
        print(f"  C13 {t['target']}: measured {_cell(t['measured'])}{errors} -> {verdict}")


def background_load(seconds: float = 1.0) -> float:
    """CPU the machine spends with nothing of ours running, in % of one core."""
    before, started = machine_busy_seconds(), time.monotonic()
    time.sleep(seconds)
    return round(100 * (machine_busy_seconds() - before) / (time.monotonic() - started), 1)


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((x.split(":", 1)[1].strip() for x in cpuinfo if x.startswith("model name")), "")
    meminfo = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "mem_total_gib": round(int(meminfo[1]) / 1024**2, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    p.add_argument("--certs", type=int, default=100_000, help="certificates to seed")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per scenario")
    p.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds per scenario")
    p.add_argument("--workers", type=int, default=2, help="server worker processes")
    p.add_argument("--concurrency", type=int, default=32, help="closed-loop clients")
    p.add_argument(
        "--rate", type=float, help="open-loop req/s of the latency runs (default 200 GET, 100 POST)"
    )
    p.add_argument(
        "--scheduler",
        action="store_true",
        help="leave the server's periodic jobs on (off by default: they are benched apart)",
    )
    p.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator HTTP client: raw asyncio HTTP/1.1 (cheap) or httpx",
    )
    p.add_argument("--json", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    args = p.parse_args(argv)
    if args.certs < 1 or args.duration <= 0 or args.concurrency < 1 or args.workers < 1:
        p.error("--certs, --duration, --concurrency and --workers must be positive")
    return args


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds the ExitStacks: server and cluster get stopped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    info = machine()
    print(
        f"machine: {info['nproc']} cores, {info['cpu_model']}, {info['mem_total_gib']} GiB, Python {info['python']}"
    )
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    report = {
        "benchmark": "api_list",
        "started_at": started,
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "revision": revision(),
        "machine": info,
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "backends": {b: run_backend(b, args) for b in backends},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
