"""The delivery pipeline: claim rows as slots free up, record each result as it completes (C4).

A dispatch tick keeps up to `concurrency` deliveries in flight. Rows are claimed only when
slots are free, so their lease covers one attempt, not a wait behind a batch; each finished
attempt is handed to a writer that commits whatever has finished since its last write (group
commit), so a crashed process re-sends at most the deliveries that were in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from certctl.domain.notifications import Delivery, NotificationEvent, after_attempt

log = structlog.get_logger("certctl.notifications")

Claim = Callable[[int], Awaitable[list[NotificationEvent]]]
Attempt = Callable[[NotificationEvent], Awaitable[Delivery]]
Record = Callable[[Sequence[tuple[NotificationEvent, datetime]]], Awaitable[None]]
Now = Callable[[], datetime]


@dataclass
class DeliveryPipeline:
    """One dispatch tick's deliveries: bounded concurrency, results recorded as they finish."""

    claim: Claim
    attempt: Attempt
    record: Record
    now: Now
    concurrency: int
    attempt_limit: timedelta
    _in_flight: int = 0
    _slot_freed: asyncio.Event = field(default_factory=asyncio.Event)
    _results: list[tuple[NotificationEvent, datetime]] = field(default_factory=list)
    _result_ready: asyncio.Event = field(default_factory=asyncio.Event)
    _closing: bool = False
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def run(self) -> None:
        """Deliver every due row, recording each result soon after it completes."""
        writer = asyncio.create_task(self._write_results())
        try:
            await self._feed(writer)
            if self._tasks:
                await asyncio.gather(*self._tasks)
        finally:
            self._closing = True
            self._result_ready.set()
            await writer

    async def _feed(self, writer: asyncio.Task[None]) -> None:
        """Claim as many rows as there are free slots until a claim comes back short."""
        while not writer.done():
            free = await self._free_slots()
            events = await self.claim(free)
            for event in events:
                self._start(event)
            if len(events) < free:
                return

    async def _free_slots(self) -> int:
        """Wait until at least a quarter of the slots (or all, when few) are free."""
        wanted = max(1, self.concurrency // 4)
        while self.concurrency - self._in_flight < wanted:
            self._slot_freed.clear()
            await self._slot_freed.wait()
        return self.concurrency - self._in_flight

    def _start(self, event: NotificationEvent) -> None:
        self._in_flight += 1
        task = asyncio.create_task(self._deliver(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, event: NotificationEvent) -> None:
        assert event.lease_until is not None, "claimed rows carry their lease"
        try:
            result = after_attempt(event, await self._attempt(event), self.now())
        except Exception as exc:
            # One row's failure, whatever it is, never fails the rows claimed with it (C4):
            # it becomes this row's failed attempt, retried and in the end visibly dead.
            log.exception("notification.attempt_crashed", notification_id=event.id)
            detail = f"internal error: {type(exc).__name__}: {exc}"[:500]
            result = after_attempt(event, Delivery(ok=False, detail=detail), self.now())
        finally:
            self._in_flight -= 1
            self._slot_freed.set()
        self._results.append((result, event.lease_until))
        self._result_ready.set()

    async def _attempt(self, event: NotificationEvent) -> Delivery:
        """The channel's attempt under a hard limit, so the lease always outlasts it."""
        try:
            async with asyncio.timeout(self.attempt_limit.total_seconds()):
                return await self.attempt(event)
        except TimeoutError:
            seconds = self.attempt_limit.total_seconds()
            return Delivery(ok=False, detail=f"{event.channel} attempt exceeded {seconds:g}s")

    async def _write_results(self) -> None:
        """Commit whatever has finished since the last write, until the tick ends."""
        while True:
            if not self._results:
                if self._closing:
                    return
                self._result_ready.clear()
                await self._result_ready.wait()
                continue
            batch, self._results = self._results, []
            await self.record(batch)
