"""The loop runner: intervals with jitter, re-entry guard, timeout, leader lock, drain (C12)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from certctl.clock import Clock
from certctl.errors import Conflict, NotFound
from certctl.metrics import Metrics

log = structlog.get_logger("certctl.scheduler")

Tick = Callable[[], Awaitable[Mapping[str, Any]]]
LeaderLock = Callable[[str], AbstractAsyncContextManager[bool]]


@dataclass(frozen=True)
class Loop:
    """One periodic job."""

    name: str
    interval: float
    tick: Tick
    run_at_start: bool = False
    timeout: float = 300.0


@dataclass
class LoopState:
    """What the last run of a loop did (per process)."""

    name: str
    interval_seconds: float
    runs: int = 0
    running: bool = False
    last_started_at: datetime | None = None
    last_duration_seconds: float | None = None
    last_outcome: str | None = None
    last_error: str | None = None
    last_success_at: datetime | None = None
    failures: int = 0
    """Ticks that raised or timed out since the process started."""
    last_failure_at: datetime | None = None
    last_summary: dict[str, Any] = field(default_factory=dict)


class Scheduler:
    """Runs loops as asyncio tasks in the server's event loop."""

    def __init__(
        self,
        loops: list[Loop],
        *,
        clock: Clock,
        metrics: Metrics,
        leader_lock: LeaderLock,
        jitter: float = 0.1,
        rng: random.Random | None = None,
    ) -> None:
        self.loops = {loop.name: loop for loop in loops}
        self.states = {loop.name: LoopState(loop.name, loop.interval) for loop in loops}
        self.clock = clock
        self.metrics = metrics
        self.leader_lock = leader_lock
        self.jitter = jitter
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._guards = {loop.name: asyncio.Lock() for loop in loops}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    async def run_once(self, name: str) -> dict[str, Any]:
        """Run one tick of `name` now; an overlapping tick is refused (409)."""
        if name not in self.loops:
            raise NotFound("loop", name)
        guard = self._guards[name]
        if guard.locked():
            log.info("loop.skipped_overlap", loop=name)
            raise Conflict(f"loop {name!r} is already running")
        async with guard:
            return await self._run(self.loops[name])

    async def _run(self, loop: Loop) -> dict[str, Any]:
        state = self.states[loop.name]
        async with self.leader_lock(loop.name) as leader:
            if not leader:
                state.last_outcome = "skipped_not_leader"
                return {"loop": loop.name, "skipped": "another replica holds this loop's lock"}
            return await self._timed(loop, state)

    async def _timed(self, loop: Loop, state: LoopState) -> dict[str, Any]:
        state.running, state.runs, state.last_started_at = True, state.runs + 1, self.clock.now()
        started = time.perf_counter()
        try:
            summary = dict(await asyncio.wait_for(loop.tick(), timeout=loop.timeout))
        except TimeoutError:
            self._failed(state, "timeout", f"tick exceeded {loop.timeout:.0f} s")
            raise
        except Exception as exc:
            self._failed(state, "error", f"{type(exc).__name__}: {exc}"[:500])
            raise
        finally:
            state.running = False
            state.last_duration_seconds = time.perf_counter() - started
            self.metrics.loop_duration.labels(loop=loop.name).observe(state.last_duration_seconds)
        # last_error and last_failure_at stay after a later success: a failed tick stays
        # visible until someone has seen it, not until the next quiet tick hides it.
        state.last_outcome, state.last_summary = "success", summary
        state.last_success_at = self.clock.now()
        self.metrics.loop_last_success.labels(loop=loop.name).set(time.time())
        return summary

    def _failed(self, state: LoopState, outcome: str, error: str) -> None:
        state.last_outcome, state.last_error = outcome, error
        state.failures += 1
        state.last_failure_at = self.clock.now()
        self.metrics.loop_failures.labels(loop=state.name).inc()

    def start(self) -> None:
        """Start one task per loop."""
        self._stopping.clear()
        self._tasks = [asyncio.create_task(self._forever(loop)) for loop in self.loops.values()]

    async def _forever(self, loop: Loop) -> None:
        first = True
        while not self._stopping.is_set():
            if not (first and loop.run_at_start) and await self._sleep(self._delay(loop.interval)):
                return
            first = False
            try:
                await self.run_once(loop.name)
            except Conflict:
                continue
            except Exception as exc:
                log.error("loop.failed", loop=loop.name, error=f"{type(exc).__name__}: {exc}")

    def _delay(self, interval: float) -> float:
        return interval * (1 + self.rng.uniform(-self.jitter, self.jitter))

    async def _sleep(self, seconds: float) -> bool:
        """Wait `seconds` or until stopping; tell whether the scheduler is stopping."""
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def stop(self, drain_seconds: float = 30.0) -> None:
        """Stop scheduling; let running ticks finish for up to `drain_seconds`, then cancel."""
        self._stopping.set()
        if not self._tasks:
            return
        _, pending = await asyncio.wait(self._tasks, timeout=drain_seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._tasks = []
