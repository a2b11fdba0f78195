"""Silences, quiet hours and the delivery gates' reads and writes on the outbox (C3)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from certctl.db.models import (
    ManagedCertificateRow,
    NotificationEventRow,
    QuietHoursRow,
    RouteOverrideRow,
    SilenceRow,
)
from certctl.db.repositories.base import Codec, Repository
from certctl.db.repositories.notifications import EVENT
from certctl.domain.notifications import NotificationEvent, NotificationStatus
from certctl.domain.quiet_hours import QuietHours
from certctl.domain.route_overrides import RouteOverride
from certctl.domain.silences import DeliveryFacts, Silence

_ROW = NotificationEventRow
_SENT = (NotificationStatus.SENT.value, NotificationStatus.READ.value)


def silences(session: AsyncSession) -> Repository[Silence]:
    """Repository of silences (searchable by reason)."""
    return Repository(session, SilenceRow, Codec(Silence), "silence", ("reason",))


def quiet_hours(session: AsyncSession) -> Repository[QuietHours]:
    """Repository of quiet-hour windows."""
    return Repository(session, QuietHoursRow, Codec(QuietHours), "quiet_hours")


def route_overrides(session: AsyncSession) -> Repository[RouteOverride]:
    """Repository of per-team and per-owner routing overrides."""
    return Repository(
        session, RouteOverrideRow, Codec(RouteOverride, {"config": dict}), "route_override"
    )


class GateRepository:
    """What the delivery gates read and write: live silences, certificate facts, folds."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def live_silences(self, now: datetime) -> list[Silence]:
        """Silences that have not ended (active now or starting later)."""
        stmt = select(SilenceRow).where(SilenceRow.ends_at > now)
        codec = Codec(Silence)
        return [codec.from_row(r) for r in (await self.session.scalars(stmt)).all()]

    async def enabled_quiet_hours(self) -> list[QuietHours]:
        """Every enabled quiet-hour window."""
        stmt = select(QuietHoursRow).where(QuietHoursRow.enabled.is_(True))
        codec = Codec(QuietHours)
        return [codec.from_row(r) for r in (await self.session.scalars(stmt)).all()]

    async def enabled_overrides(self) -> list[RouteOverride]:
        """Every enabled routing override (secrets still sealed)."""
        stmt = select(RouteOverrideRow).where(RouteOverrideRow.enabled.is_(True))
        codec = Codec(RouteOverride, {"config": dict})
        return [codec.from_row(r) for r in (await self.session.scalars(stmt)).all()]

    async def facts(self, certificate_ids: Sequence[str]) -> dict[str, DeliveryFacts]:
        """Matcher facts of these certificates, by id (channel and tier left blank)."""
        if not certificate_ids:
            return {}
        c = ManagedCertificateRow
        stmt = select(c.id, c.owner_id, c.team_id, c.environment, c.issuer_id, c.tags).where(
            c.id.in_(set(certificate_ids))
        )
        return {
            row.id: DeliveryFacts(
                channel="",
                certificate_id=row.id,
                owner_id=row.owner_id,
                team_id=row.team_id,
                environment=row.environment or "",
                issuer_id=row.issuer_id,
                tags=dict(row.tags or {}),
            )
            for row in (await self.session.execute(stmt)).all()
        }

    async def release_silenced(self, active_ids: Sequence[str], now: datetime) -> int:
        """Make pending again the silenced rows whose silence is no longer active."""
        stmt = update(_ROW).where(_ROW.status == NotificationStatus.SILENCED.value)
        if active_ids:
            stmt = stmt.where(_ROW.silence_id.not_in(active_ids))
        stmt = stmt.values(status=NotificationStatus.PENDING.value, updated_at=now)
        result = await self.session.execute(stmt, execution_options={"synchronize_session": False})
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def sent_since(self, channel: str, since: datetime) -> int:
        """Deliveries of `channel` accepted at or after `since`."""
        stmt = (
            select(func.count())
            .select_from(_ROW)
            .where(_ROW.channel == channel, _ROW.status.in_(_SENT), _ROW.sent_at >= since)
        )
        return int(await self.session.scalar(stmt) or 0)

    async def open_digest(self, digest: NotificationEvent) -> NotificationEvent:
        """The held digest row with `digest`'s dedup key, inserted when it is not there yet."""
        dialect = self.session.bind.dialect.name if self.session.bind else "sqlite"
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(_ROW).on_conflict_do_nothing(index_elements=["dedup_key"])
        await self.session.execute(stmt, [EVENT.to_columns(digest)])
        row = await self.session.scalar(select(_ROW).where(_ROW.dedup_key == digest.dedup_key))
        assert row is not None, "the digest row exists once inserted"
        return EVENT.from_row(row)

    async def folded(self, digest_id: str, limit: int) -> tuple[int, list[str]]:
        """How many rows a digest holds and the first certificates' names."""
        count = await self.session.scalar(
            select(func.count()).select_from(_ROW).where(_ROW.digest_id == digest_id)
        )
        rows = await self.session.scalars(
            select(_ROW.context)
            .where(_ROW.digest_id == digest_id)
            .order_by(_ROW.created_at, _ROW.id)
            .limit(limit)
        )
        names = [str((ctx or {}).get("certificate_name") or "?") for ctx in rows.all()]
        return int(count or 0), names

    async def rewrite_digest(self, digest: NotificationEvent) -> None:
        """Store a digest's new subject, body and context (its fold count grew)."""
        await self.session.execute(
            update(_ROW)
            .where(_ROW.id == digest.id)
            .values(
                subject=digest.subject,
                message=digest.message,
                severity_tier=digest.severity_tier,
                recipient=digest.recipient,
                context=dict(digest.context),
                updated_at=digest.updated_at,
            )
        )


def unleased(event: NotificationEvent, now: datetime) -> NotificationEvent:
    """A gated row: no longer held by this dispatcher's lease."""
    return replace(event, lease_until=None, updated_at=now)
