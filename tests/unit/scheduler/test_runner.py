"""The loop runner: summaries, overlap guard, timeouts, leader lock, start and drain."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from certctl.errors import Conflict, NotFound
from certctl.metrics import Metrics
from certctl.scheduler.runner import Loop, Scheduler
from certctl.testing.clock import frozen_clock


@asynccontextmanager
async def always_leader(name: str) -> AsyncIterator[bool]:
    yield True


@asynccontextmanager
async def never_leader(name: str) -> AsyncIterator[bool]:
    yield False


def scheduler(*loops: Loop, lock: Any = always_leader) -> Scheduler:
    return Scheduler(
        list(loops), clock=frozen_clock(), metrics=Metrics(), leader_lock=lock, rng=random.Random(7)
    )


async def test_run_once_returns_the_tick_summary_and_records_state() -> None:
    """A manual run answers the tick's summary; the state shows one successful run."""

    async def tick() -> dict[str, Any]:
        return {"loop": "demo", "done": 3}

    s = scheduler(Loop("demo", 60, tick))
    assert await s.run_once("demo") == {"loop": "demo", "done": 3}
    state = s.states["demo"]
    assert (state.runs, state.last_outcome, state.last_summary, state.running) == (
        1,
        "success",
        {"loop": "demo", "done": 3},
        False,
    )
    assert state.last_success_at == frozen_clock().now()


async def test_overlapping_tick_is_refused() -> None:
    """While a tick runs, a second one of the same loop is a Conflict, not a second run."""
    release = asyncio.Event()
    calls = 0

    async def tick() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        await release.wait()
        return {}

    s = scheduler(Loop("slow", 60, tick))
    first = asyncio.create_task(s.run_once("slow"))
    await asyncio.sleep(0)
    with pytest.raises(Conflict, match="already running"):
        await s.run_once("slow")
    release.set()
    await first
    assert calls == 1


async def test_failing_tick_records_the_error() -> None:
    """An exception is re-raised and kept as the loop's last error."""

    async def tick() -> dict[str, Any]:
        raise RuntimeError("database gone")

    s = scheduler(Loop("bad", 60, tick))
    with pytest.raises(RuntimeError):
        await s.run_once("bad")
    assert (s.states["bad"].last_outcome, s.states["bad"].last_error) == (
        "error",
        "RuntimeError: database gone",
    )


async def test_failure_stays_visible_after_a_later_success() -> None:
    """A tick that raised is counted, and its error and time stay after the next success."""
    outcomes = iter([RuntimeError("row 7 overflowed"), None])

    async def tick() -> dict[str, Any]:
        error = next(outcomes)
        if error is not None:
            raise error
        return {"claimed": 0}

    s = scheduler(Loop("notification_dispatch", 5, tick))
    with pytest.raises(RuntimeError):
        await s.run_once("notification_dispatch")
    await s.run_once("notification_dispatch")
    state = s.states["notification_dispatch"]
    assert (state.runs, state.failures, state.last_outcome) == (2, 1, "success")
    assert (state.last_error, state.last_failure_at) == (
        "RuntimeError: row 7 overflowed",
        frozen_clock().now(),
    )
    sample = s.metrics.registry.get_sample_value(
        "certctl_scheduler_loop_failures_total", {"loop": "notification_dispatch"}
    )
    assert sample == 1.0


async def test_tick_over_its_timeout_is_cut_off() -> None:
    """A tick that never finishes is cancelled at its timeout and marked so."""
    never = asyncio.Event()

    async def tick() -> dict[str, Any]:
        await never.wait()
        return {}

    s = scheduler(Loop("stuck", 60, tick, timeout=0.01))
    with pytest.raises(TimeoutError):
        await s.run_once("stuck")
    assert s.states["stuck"].last_outcome == "timeout"


async def test_replica_without_the_lock_skips_the_tick() -> None:
    """When another replica holds the loop's lock, this one does nothing."""
    calls = 0

    async def tick() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return {}

    s = scheduler(Loop("renewal", 60, tick), lock=never_leader)
    summary = await s.run_once("renewal")
    assert summary == {"loop": "renewal", "skipped": "another replica holds this loop's lock"}
    assert (calls, s.states["renewal"].last_outcome) == (0, "skipped_not_leader")


async def test_unknown_loop_is_not_found() -> None:
    """Running a loop that does not exist names it."""
    with pytest.raises(NotFound):
        await scheduler().run_once("nope")


def test_jitter_stays_within_ten_percent() -> None:
    """Delays vary by at most ±10 % of the interval."""
    s = scheduler()
    delays = [s._delay(100) for _ in range(1000)]
    assert min(delays) >= 90
    assert max(delays) <= 110
    assert max(delays) - min(delays) > 15


async def test_start_runs_start_loops_at_once_and_stop_drains() -> None:
    """A run-at-start loop ticks immediately; stop waits for it and ends every task."""
    ran = asyncio.Event()

    async def tick() -> dict[str, Any]:
        ran.set()
        return {}

    s = scheduler(Loop("eager", 3600, tick, run_at_start=True), Loop("lazy", 3600, tick))
    s.start()
    await asyncio.wait_for(ran.wait(), timeout=5)
    await s.stop(drain_seconds=5)
    assert (s.states["eager"].runs, s.states["lazy"].runs) == (1, 0)
    assert s._tasks == []
