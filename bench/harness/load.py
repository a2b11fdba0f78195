"""The load generator: open and closed loops on the raw asyncio client, in processes of their own.

No coordinated omission: an open loop sends on a fixed schedule whatever the answers do and
times each request from its scheduled send time, so a server that falls behind shows up in
the latencies instead of slowing the schedule; requests beyond `max_in_flight` unanswered are
counted as `not-sent:in-flight-cap`, never silently dropped. Every load generator runs in a
spawned process (its own interpreter and GIL, so its CPU is measured apart from the server's):
`run_clients` starts them, lets each prepare untimed, then starts them together on one
`Window` (warm-up from `go`, measured from `measure` to `end`) and samples the CPU of the
named process trees over the measured part.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.cpu import CpuSnapshot, cpu_percent
from harness.http import loop_factory
from harness.report import percentile
from harness.server import stop_process

TRANSPORT_ERRORS = (
    OSError,
    asyncio.IncompleteReadError,
    asyncio.LimitOverrunError,
    ValueError,
    httpx.HTTPError,
    TimeoutError,
)
Send = Callable[[int], Awaitable[str]]  # the index-th request; its code ("ok", "200", ...)


@dataclass(frozen=True)
class Window:
    """Monotonic times: start sending at `go`, count requests started in [`measure`, `end`)."""

    go: float
    measure: float
    end: float


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)
    ok_all: int = 0  # answers judged ok, including the warm-up
    last_done: float = 0.0


async def sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


async def generate(
    send: Send,
    window: Window,
    *,
    concurrency: int = 1,
    rate: float = 0.0,
    request_timeout: float = 30.0,
    max_in_flight: int = 256,
    is_ok: Callable[[str], bool] = lambda code: code == "ok",
) -> Tally:
    """A closed loop of `concurrency` clients (rate 0) or an open loop at `rate` per second."""
    tally = Tally()

    async def timed(index: int, started: float) -> None:
        try:
            async with asyncio.timeout(request_timeout):
                code = await send(index)
        except TRANSPORT_ERRORS as exc:
            code = f"error:{type(exc).__name__}"
        done = time.monotonic()
        tally.ok_all += is_ok(code)
        if started >= window.measure:
            tally.codes[code] += 1
            tally.latencies.append(done - started)
            tally.last_done = max(tally.last_done, done)

    await sleep_until(window.go)
    if rate > 0:
        await open_loop(timed, rate, window, tally, max_in_flight)
    else:
        counter = itertools.count()

        async def client() -> None:
            while (started := time.monotonic()) < window.end:
                await timed(next(counter), started)

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return tally


async def open_loop(
    timed: Callable[[int, float], Awaitable[None]],
    rate: float,
    window: Window,
    tally: Tally,
    max_in_flight: int,
) -> None:
    """Send at a fixed schedule whatever the answers do; latency from the scheduled time."""
    pending: set[asyncio.Task[None]] = set()
    for n in itertools.count():
        due = window.go + n / rate
        if due >= window.end:
            break
        await sleep_until(due)
        if len(pending) >= max_in_flight:
            if due >= window.measure:
                tally.codes["not-sent:in-flight-cap"] += 1
            continue
        task = asyncio.ensure_future(timed(n, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.wait(pending)


def latency_summary(latencies: Sequence[float]) -> dict[str, float | None]:
    """p50, p90, p99 and max in milliseconds."""
    ordered = sorted(latencies)
    return {
        "p50_ms": percentile(ordered, 50),
        "p90_ms": percentile(ordered, 90),
        "p99_ms": percentile(ordered, 99),
        "max_ms": round(1000 * ordered[-1], 2) if ordered else None,
    }


# --------------------------------------------------------------------------- processes

Prepare = Callable[[Any], Awaitable[Any]]
Drive = Callable[[Any, Any, Window], Awaitable[dict[str, Any]]]


def client_main(prepare: Prepare, drive: Drive, spec: Any, conn: Any) -> None:
    """Entry point of a load-generator process: prepare, report ready, run on `go`."""
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            work = runner.run(prepare(spec))
            conn.send(("ready", None))
            command, window = conn.recv()
            if command != "go":
                return
            conn.send(("result", runner.run(drive(spec, work, window))))
    except Exception as exc:
        with contextlib.suppress(OSError, ValueError):
            conn.send(("failed", f"{type(exc).__name__}: {exc}"))


def receive(conn: Any, deadline: float, expect: str) -> Any:
    """The payload of the next message, which must be `expect`."""
    if not conn.poll(max(0.0, deadline - time.monotonic())):
        raise RuntimeError(f"a load generator did not answer in time (waiting for {expect})")
    kind, payload = conn.recv()
    if kind == "failed":
        raise RuntimeError(f"load generator failed: {payload}")
    if kind != expect:
        raise RuntimeError(f"load generator sent {kind!r}, expected {expect!r}")
    return payload


def run_clients(
    prepare: Prepare,
    drive: Drive,
    specs: Sequence[Any],
    roots: Mapping[str, int | None],
    warmup: float,
    duration: float,
    *,
    grace: float = 90.0,
    cpu_until_results: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, Any], Window]:
    """One spawned process per spec, started together; their results and the CPU of `roots`
    over the measured part (up to `end`, or until every result is in with
    `cpu_until_results`, so an open loop's stragglers are charged to it)."""
    mp = multiprocessing.get_context("spawn")
    procs: list[tuple[Any, Any]] = []
    try:
        for spec in specs:
            parent, child = mp.Pipe()
            proc = mp.Process(target=client_main, args=(prepare, drive, spec, child), daemon=True)
            proc.start()
            procs.append((proc, parent))
        for _, conn in procs:
            receive(conn, time.monotonic() + 600, "ready")
        go = time.monotonic() + 0.3
        window = Window(go, go + warmup, go + warmup + duration)
        for _, conn in procs:
            conn.send(("go", window))
        time.sleep(max(0.0, window.measure - time.monotonic()))
        before = CpuSnapshot.take(roots)
        if not cpu_until_results:
            time.sleep(max(0.0, window.end - time.monotonic()))
            after = CpuSnapshot.take(roots)
        results = [receive(conn, window.end + grace, "result") for _, conn in procs]
        if cpu_until_results:
            after = CpuSnapshot.take(roots)
    finally:
        for proc, conn in procs:
            with contextlib.suppress(OSError, ValueError):
                conn.send(("stop", None))
            stop_process(proc)
    return results, cpu_percent(before, after), window
