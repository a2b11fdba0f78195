"""The delivery pipeline: claim rows as slots free up, record each result as it completes (C4).

A dispatch tick keeps up to `concurrency` deliveries in flight, and at most a channel's own
cap for a channel that has one. Rows are claimed only when slots are free (rows of a capped
channel only when it has a free slot), so a lease covers one attempt, not a wait behind a
batch, and a slow channel never holds the others' slots. Each finished attempt is handed to a
writer that commits whatever has finished since its last write (group commit), so a crashed
process re-sends at most the deliveries that were in flight.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from certctl.domain.notifications import Delivery, NotificationEvent, after_attempt

log = structlog.get_logger("certctl.notifications")

Claim = Callable[[int, str | None, tuple[str, ...]], Awaitable[list[NotificationEvent]]]
"""claim(limit, only this channel or None, never these channels) → leased rows."""
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
    channel_limits: Mapping[str, int] = field(default_factory=dict)
    _in_flight: int = 0
    _busy: Counter[str] = field(default_factory=Counter)
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
        """Claim rows for free slots until no claim comes back full and no cap held rows back."""
        while not writer.done():
            await self._room()
            self._slot_freed.clear()
            started, more = await self._claim_round()
            if not more:
                return
            if started == 0:
                # Only capped channels may have more: wait for one of their deliveries to end.
                await self._slot_freed.wait()

    async def _room(self) -> None:
        """Wait until at least a quarter of the slots (or all, when few) are free."""
        wanted = max(1, self.concurrency // 4)
        while self.concurrency - self._in_flight < wanted:
            self._slot_freed.clear()
            await self._slot_freed.wait()

    async def _claim_round(self) -> tuple[int, bool]:
        """Claim for every capped channel with room, then for the rest; (started, maybe more)."""
        free, started, more = self.concurrency - self._in_flight, 0, False
        for channel, cap in self.channel_limits.items():
            room = min(cap - self._busy[channel], free - started)
            if room <= 0:
                more = more or cap <= self._busy[channel]
                continue
            events = await self.claim(room, channel, ())
            started += self._start_all(events)
            more = more or len(events) == room
        room = free - started
        if room > 0:
            events = await self.claim(room, None, tuple(self.channel_limits))
            started += self._start_all(events)
            more = more or len(events) == room
        return started, more

    def _start_all(self, events: list[NotificationEvent]) -> int:
        for event in events:
            self._start(event)
        return len(events)

    def _start(self, event: NotificationEvent) -> None:
        self._in_flight += 1
        self._busy[event.channel] += 1
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
            self._busy[event.channel] -= 1
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
