"""Shared pieces of bench/pki.py: machine facts, CPU accounting, an HTTP client, the server.

- `machine()`, `revision()`, `background_load()`: what the figures were measured on.
- `CpuSnapshot` / `cpu_percent()`: CPU used by process trees (the server and its workers,
  the PostgreSQL cluster) and by the whole machine, from /proc, in % of one core.
- `RawHttp`: a minimal HTTP/1.1 keep-alive client on asyncio streams (about 0.05 ms of CPU
  per request, where httpx costs 1-3 ms), so a Python load generator does not measure itself;
  `HttpxHttp` offers the same interface over httpx.AsyncClient; `probe()` sends one request
  on a fresh connection.
- `Server`: the real `certctl serve` in its own process group, stopped with its workers.
- `markdown_table()`: the printed tables, ready to paste into docs/performance.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import platform
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

CLK_TCK = os.sysconf("SC_CLK_TCK")
MISSING = "\u2013"
IDLE_REUSE_S = 4.0  # uvicorn closes idle keep-alive connections after 5 s


# --------------------------------------------------------------------------- the machine


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


# --------------------------------------------------------------------------- CPU accounting


def proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, CPU clock ticks including reaped children) for every live process."""
    table: dict[int, tuple[int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime + stime + cutime + cstime: a backend or worker that exits during a run keeps
        # counting through its parent once reaped.
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


@dataclass
class CpuSnapshot:
    """CPU seconds of named process trees, of each root's direct children, and the machine."""

    at: float
    trees: dict[str, float | None]
    children: dict[str, dict[int, float]]
    machine: float

    @classmethod
    def take(cls, roots: Mapping[str, int | None]) -> CpuSnapshot:
        table = proc_table()
        trees = {name: tree_cpu_seconds(pid, table) for name, pid in roots.items()}
        children = {
            name: {
                child: tree_cpu_seconds(child, table) or 0.0
                for child, (ppid, _) in table.items()
                if pid is not None and ppid == pid
            }
            for name, pid in roots.items()
        }
        return cls(time.monotonic(), trees, children, machine_busy_seconds())


def cpu_percent(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, Any]:
    """`<name>_cpu_pct` per tree, `<name>_children_cpu_pct` (largest first) and the machine's,
    in % of one core over the interval between the snapshots."""
    wall = max(after.at - before.at, 1e-9)

    def share(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else round(100 * (b - a) / wall, 1)

    out: dict[str, Any] = {"machine_cpu_pct": share(before.machine, after.machine)}
    for name, value in after.trees.items():
        out[f"{name}_cpu_pct"] = share(before.trees.get(name), value)
        split = [
            share(before.children.get(name, {}).get(pid), cpu)
            for pid, cpu in after.children.get(name, {}).items()
        ]
        out[f"{name}_children_cpu_pct"] = sorted((c for c in split if c is not None), reverse=True)
    return out


def settle(roots: Mapping[str, int | None], *, limit: float = 60.0, below: float = 10.0) -> float:
    """Wait until the named trees together use less than `below` % of a core for two
    half-second samples in a row; return the seconds waited."""
    started = time.monotonic()
    quiet = 0
    while time.monotonic() - started < limit and quiet < 2:
        before = CpuSnapshot.take(roots)
        time.sleep(0.5)
        cpu = cpu_percent(before, CpuSnapshot.take(roots))
        busy = sum(cpu[f"{name}_cpu_pct"] or 0.0 for name in roots)
        quiet = quiet + 1 if busy < below else 0
    return round(time.monotonic() - started, 1)


# --------------------------------------------------------------------------- numbers


def percentile(ordered: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile of ascending seconds, in milliseconds."""
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))
    return round(1000 * ordered[index], 2)


def cell(value: Any, fmt: str = "") -> str:
    """One table cell: an en dash for a missing value (as docs/performance.md writes it)."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, str):
        return value
    return format(value, fmt)


def markdown_table(
    columns: Sequence[tuple[str, str, str]], rows: Sequence[Mapping[str, Any]]
) -> str:
    """A Markdown table: `columns` are (header, key, format); text left, numbers right."""
    texts = [[cell(row.get(key), fmt) for _, key, fmt in columns] for row in rows]
    numeric = [
        all(isinstance(row.get(key), int | float) or row.get(key) is None for row in rows)
        for _, key, _ in columns
    ]
    widths = [
        max([len(head), 3, *(len(t[i]) for t in texts)]) for i, (head, _, _) in enumerate(columns)
    ]

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.rjust(w) if num else c.ljust(w)
            for c, w, num in zip(cells, widths, numeric, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = [
        ("-" * (w - 1) + ":") if num else "-" * w for w, num in zip(widths, numeric, strict=True)
    ]
    head = [h for h, _, _ in columns]
    return "\n".join([line(head), "| " + " | ".join(rule) + " |", *(line(t) for t in texts)])


# --------------------------------------------------------------------------- HTTP clients


class RawHttp:
    """Minimal HTTP/1.1 keep-alive client on asyncio streams: a pool of idle connections.

    It speaks just enough HTTP for uvicorn (Content-Length or chunked bodies) and returns
    the status and the body.
    """

    def __init__(self, base_url: str, headers: Mapping[str, str] | None = None) -> None:
        hostport = base_url.removeprefix("http://")
        self.host, _, port = hostport.partition(":")
        self.port = int(port)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.prefix = f"Host: {hostport}\r\n{extra}"
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def open(self, count: int, path: str = "/health", pause: float = 0.005) -> None:
        """Open `count` keep-alive connections one after the other, each answered once.

        Workers of a multi-worker server race to accept on one shared socket, and a worker
        that wakes up accepts every connection waiting: opened all at once, the connections
        of a closed loop tend to land on one worker while the others idle.
        """
        for _ in range(count):
            reader, writer = await asyncio.open_connection(self.host, self.port)
            writer.write(f"GET {path} HTTP/1.1\r\n{self.prefix}\r\n".encode())
            _, _, keep = await read_response(reader)
            if keep:
                self.idle.append((reader, writer, time.monotonic()))
            else:
                writer.close()
            await asyncio.sleep(pause)

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        now = time.monotonic()
        while self.idle:
            reader, writer, used = self.idle.pop()
            if now - used < IDLE_REUSE_S and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port)

    async def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\n{self.prefix}"
        if body is not None:
            head += f"Content-Type: {content_type or 'application/json'}\r\n"
            head += f"Content-Length: {len(body)}\r\n"
        reader, writer = await self._connection()
        try:
            writer.write(head.encode() + b"\r\n" + (body or b""))
            status, payload, keep = await read_response(reader)
        except BaseException:
            writer.close()
            raise
        if keep:
            self.idle.append((reader, writer, time.monotonic()))
        else:
            writer.close()
        return status, payload

    async def aclose(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()
        self.idle.clear()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep-alive) of one HTTP/1.1 response."""
    lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    headers = dict(line.lower().split(b":", 1) for line in lines[1:] if b":" in line)
    body = b""
    if b"content-length" in headers:
        body = await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding", b"").strip() == b"chunked":
        parts = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            parts.append((await reader.readexactly(size + 2))[:-2])
        await reader.readuntil(b"\r\n")
        body = b"".join(parts)
    return status, body, headers.get(b"connection", b"").strip() != b"close"


class HttpxHttp:
    """The same interface over httpx.AsyncClient."""

    def __init__(
        self, base_url: str, connections: int, headers: Mapping[str, str] | None = None
    ) -> None:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.client = httpx.AsyncClient(
            base_url=base_url, headers=dict(headers or {}), limits=limits, timeout=30.0
        )

    async def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, bytes]:
        headers = {"Content-Type": content_type or "application/json"} if body is not None else None
        response = await self.client.request(method, path, content=body, headers=headers)
        return response.status_code, response.content

    async def aclose(self) -> None:
        await self.client.aclose()


async def probe(host: str, port: int, path: str) -> int:
    """One GET on a fresh connection (`Connection: close`), so it reaches whichever worker
    accepts it; returns the status."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        status, _, _ = await read_response(reader)
        return status
    finally:
        writer.close()


def loop_factory() -> Any:
    """uvloop's event loop when installed (uvicorn uses it too), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


# --------------------------------------------------------------------------- the server


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


def postmaster_pid(datadir: Path) -> int | None:
    """The PostgreSQL server's pid from its data directory."""
    with contextlib.suppress(OSError, ValueError):
        return int((datadir / "postmaster.pid").read_text().split("\n", 1)[0])
    return None


def stop_process(proc: Any, timeout: float = 5.0) -> None:
    """Join a multiprocessing child, terminating and then killing it if it does not exit."""
    proc.join(timeout=timeout)
    if proc.is_alive():
        proc.terminate()
        proc.join(timeout=timeout)
    if proc.is_alive():
        proc.kill()
        proc.join()
