"""Delivery gates of one dispatch tick: silences, quiet hours and channel rate limits (C3).

Claimed rows pass the gates in that order before any is attempted. A gated row is never
dropped: it is written back `silenced` (with the silence), `held` (until the quiet window
ends) or `digested` (folded into the channel's digest row, itself held until the rate-limit
window reopens). With no silence, no quiet hours and no rate limit configured the gate is
idle and the dispatcher skips it, so the hot path pays nothing.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from certctl.db.repositories.silences import unleased
from certctl.db.uow import UnitOfWork
from certctl.domain.alerts import NotificationKind
from certctl.domain.ids import new_id
from certctl.domain.notifications import NotificationEvent, NotificationStatus
from certctl.domain.policies import SeverityTier
from certctl.domain.quiet_hours import QuietHours, Window, covers, held_until
from certctl.domain.ratelimit_windows import (
    DIGEST_NAMES,
    HOUR,
    MINUTE,
    ChannelRateLimit,
    WindowCount,
    digest_text,
    window_start,
)
from certctl.domain.route_overrides import RouteOverride, pick
from certctl.domain.silences import DeliveryFacts, Silence, muting
from certctl.services.route_overrides import revealed
from certctl.services.runtime import Runtime

_TIERS = [t.value for t in SeverityTier]


@dataclass
class GateCounts:
    """How many claimed rows each gate took in one tick."""

    silenced: int = 0
    held: int = 0
    digested: int = 0


@dataclass
class DeliveryGate:
    """Screens claimed rows; built once per dispatch tick."""

    runtime: Runtime
    silences: list[Silence]
    quiet: list[tuple[QuietHours, Window]]
    limits: Mapping[str, ChannelRateLimit]
    public_url: str | None = None
    overrides: list[RouteOverride] = field(default_factory=list)
    routes: dict[str, RouteOverride] = field(default_factory=dict)
    """The override each kept row delivers through, by row id."""
    counts: GateCounts = field(default_factory=GateCounts)
    _windows: dict[str, WindowCount] = field(default_factory=dict)

    @classmethod
    async def load(
        cls, runtime: Runtime, limits: Mapping[str, ChannelRateLimit], public_url: str | None
    ) -> DeliveryGate:
        """Release rows of ended silences, then read what gates this tick's rows."""
        now = runtime.clock.now()
        async with runtime.db.uow() as uow:
            live = await uow.gates.live_silences(now)
            await uow.gates.release_silenced([s.id for s in live if s.active(now)], now)
            quiet = [(q, Window.of(q)) for q in await uow.gates.enabled_quiet_hours()]
            overrides = revealed(await uow.gates.enabled_overrides(), runtime)
        url = public_url.rstrip("/") if public_url else None
        return cls(runtime, live, quiet, limits, url, overrides)

    @property
    def idle(self) -> bool:
        """Whether no gate can take a row this tick."""
        return not (self.silences or self.quiet or self.limits or self.overrides)

    async def screen(self, events: Sequence[NotificationEvent]) -> list[NotificationEvent]:
        """The rows to attempt now; the others are written back gated, in one commit."""
        if not events:
            return []
        now = self.runtime.clock.now()
        async with self.runtime.db.uow() as uow:
            facts = await self._facts(uow, events)
            keep, gated, over = [], [], []
            for event in events:
                muted = self._muted(event, facts.get(event.certificate_id or ""), now)
                if muted is not None:
                    gated.append(muted)
                elif not await self._admit(uow, event, now):
                    over.append(event)
                else:
                    keep.append(event)
                    self._route(event, facts.get(event.certificate_id or ""))
            await uow.notifications.save_all(gated)
            await self._fold(uow, over, now)
        return keep

    async def _facts(
        self, uow: UnitOfWork, events: Sequence[NotificationEvent]
    ) -> dict[str, DeliveryFacts]:
        if not self.silences and not self.quiet and not self.overrides:
            return {}
        return await uow.gates.facts([e.certificate_id for e in events if e.certificate_id])

    def _muted(
        self, event: NotificationEvent, cert: DeliveryFacts | None, now: datetime
    ) -> NotificationEvent | None:
        """The row silenced or held by quiet hours, or None when it may go on."""
        if event.kind is NotificationKind.DIGEST:
            return None
        facts = replace(cert or DeliveryFacts(channel=""), channel=event.channel)
        silence = muting(self.silences, facts, now)
        if silence is not None:
            self.counts.silenced += 1
            return replace(
                unleased(event, now), status=NotificationStatus.SILENCED, silence_id=silence.id
            )
        windows = [w for q, w in self.quiet if covers(q, event.channel, facts.team_id)]
        until = held_until(windows, now, event.severity_tier)
        if until is None:
            return None
        self.counts.held += 1
        return replace(unleased(event, now), status=NotificationStatus.HELD, next_retry_at=until)

    def _route(self, event: NotificationEvent, cert: DeliveryFacts | None) -> None:
        """Remember the team's or owner's override this row delivers through, if any."""
        if not self.overrides or cert is None or event.kind is NotificationKind.DIGEST:
            return
        found = pick(
            self.overrides,
            channel=event.channel,
            tier=event.severity_tier,
            owner_id=cert.owner_id,
            team_id=cert.team_id,
        )
        if found is not None:
            self.routes[event.id] = found

    async def _admit(self, uow: UnitOfWork, event: NotificationEvent, now: datetime) -> bool:
        """Count the row against its channel's windows; False when they are full."""
        limit = self.limits.get(event.channel)
        if limit is None:
            return True
        count = self._windows.get(event.channel)
        if count is None or not count.current(now):
            count = await self._load_count(uow, event.channel, limit, now)
        if event.kind is not NotificationKind.DIGEST and count.reopens_at() is not None:
            return False
        # A digest goes out when its window reopens, whatever else fills the new window.
        count.admit()
        return True

    async def _load_count(
        self, uow: UnitOfWork, channel: str, limit: ChannelRateLimit, now: datetime
    ) -> WindowCount:
        minute, hour = window_start(now, MINUTE), window_start(now, HOUR)
        count = WindowCount(limit, minute, hour)
        count.in_minute = await uow.gates.sent_since(channel, minute)
        count.in_hour = await uow.gates.sent_since(channel, hour)
        self._windows[channel] = count
        return count

    async def _fold(
        self, uow: UnitOfWork, over: Sequence[NotificationEvent], now: datetime
    ) -> None:
        """Fold over-limit rows into their channel's digest for the window's reopening."""
        groups: dict[tuple[str, datetime], list[NotificationEvent]] = defaultdict(list)
        for event in over:
            reopen = self._windows[event.channel].reopens_at()
            assert reopen is not None, "only rows over a full window are folded"
            groups[(event.channel, reopen)].append(event)
        for (channel, reopen), events in groups.items():
            digest = await uow.gates.open_digest(self._digest(channel, reopen, now))
            await uow.notifications.save_all(
                [
                    replace(
                        unleased(e, now), status=NotificationStatus.DIGESTED, digest_id=digest.id
                    )
                    for e in events
                ]
            )
            await uow.gates.rewrite_digest(await self._retold(uow, digest, events, now))
            self.counts.digested += len(events)

    def _digest(self, channel: str, reopen: datetime, now: datetime) -> NotificationEvent:
        """A new digest row of `channel`, held until `reopen`."""
        raw = f"digest|{channel}|{reopen.isoformat()}"
        return NotificationEvent(
            id=new_id("ne", now),
            kind=NotificationKind.DIGEST,
            channel=channel,
            status=NotificationStatus.HELD,
            severity_tier=SeverityTier.INFORMATIONAL.value,
            subject="",
            message="",
            incident_key=f"certctl-digest-{channel}-{reopen:%Y%m%dT%H%M}",
            created_at=now,
            updated_at=now,
            dedup_key=hashlib.sha256(raw.encode()).hexdigest()[:40],
            next_retry_at=reopen,
            context={"folded": 0},
        )

    async def _retold(
        self,
        uow: UnitOfWork,
        digest: NotificationEvent,
        events: Sequence[NotificationEvent],
        now: datetime,
    ) -> NotificationEvent:
        """The digest's text after `events` were folded into it."""
        count, names = await uow.gates.folded(digest.id, DIGEST_NAMES)
        link = f"{self.public_url}/notifications?digest_id={digest.id}" if self.public_url else None
        subject, body = digest_text(digest.channel, count, names, link)
        tier = max([digest.severity_tier, *(e.severity_tier for e in events)], key=_rank)
        recipients = dict.fromkeys(
            r for e in (digest, *events) for r in e.recipient.split(",") if r
        )
        return replace(
            digest,
            subject=subject,
            message=body,
            severity_tier=tier,
            recipient=",".join(recipients),
            context={"folded": count, "certificate_names": names, "link": link},
            updated_at=now,
        )


def _rank(tier: str) -> int:
    return _TIERS.index(tier) if tier in _TIERS else 0
