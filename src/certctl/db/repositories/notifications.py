"""The notification outbox and database-defined channels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from certctl.db.models import NotificationChannelRow, NotificationEventRow
from certctl.db.repositories.base import Codec, Repository
from certctl.domain.alerts import NotificationKind
from certctl.domain.listing import Page, PageRequest, SortKey
from certctl.domain.notifications import (
    NotificationChannel,
    NotificationEvent,
    NotificationStatus,
)

EVENT = Codec(
    NotificationEvent,
    {"kind": NotificationKind, "status": NotificationStatus, "context": dict},
)
CHANNEL = Codec(NotificationChannel, {"config": dict})
_ROW = NotificationEventRow
# The columns a delivery attempt, a requeue or a read can change.
_DELIVERY_STATE = (
    "status",
    "attempts",
    "next_retry_at",
    "lease_until",
    "last_error",
    "receipt",
    "sent_at",
    "read_at",
    "silence_id",
    "digest_id",
    "updated_at",
)


@dataclass(frozen=True)
class NotificationFilter:
    """Which outbox rows to list."""

    status: str | None = None
    channel: str | None = None
    certificate_id: str | None = None
    kind: str | None = None
    alert_id: str | None = None
    silence_id: str | None = None
    digest_id: str | None = None


class NotificationRepository(Repository[NotificationEvent]):
    """Outbox rows: conflict-free inserts, leased claims, results, listing."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, NotificationEventRow, EVENT, "notification")

    async def insert_new(self, events: Sequence[NotificationEvent]) -> set[str]:
        """Insert rows whose dedup key is new; return the ids actually inserted."""
        if not events:
            return set()
        dialect = self.session.bind.dialect.name if self.session.bind else "sqlite"
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        # executemany form: compiled once for the whole batch (a multi-row VALUES with tens of
        # thousands of bind parameters was most of a scan's time); RETURNING yields only the
        # rows that did not conflict.
        table = cast(Table, _ROW.__table__)  # Core: no ORM bulk-insert bookkeeping per row
        stmt = (
            insert(table).on_conflict_do_nothing(index_elements=["dedup_key"]).returning(table.c.id)
        )
        rows = [self.codec.to_columns(e) for e in events]
        return set((await self.session.scalars(stmt, rows)).all())

    async def dedup_keys_for(self, certificate_ids: Sequence[str]) -> set[str]:
        """Dedup keys already decided for these certificates."""
        if not certificate_ids:
            return set()
        stmt = select(_ROW.dedup_key).where(
            _ROW.certificate_id.in_(certificate_ids), _ROW.dedup_key.is_not(None)
        )
        if self.session.get_bind().dialect.name != "postgresql":
            return {k for k in (await self.session.scalars(stmt)).all() if k}
        # Until the outbox is first analysed, PostgreSQL assumes each of the ~200 ids matches
        # 0.5 % of the rows, so all of them together the whole table: it then reads every row
        # and compares it with every id, per chunk, as the outbox grows through a first large
        # scan (12 s of 1M certificates' two ticks). The index lookup is right at any size.
        await self.session.execute(text("SET LOCAL enable_seqscan = off"))
        keys = {k for k in (await self.session.scalars(stmt)).all() if k}
        await self.session.execute(text("SET LOCAL enable_seqscan TO DEFAULT"))
        return keys

    async def claim_due(
        self,
        *,
        now: datetime,
        lease_until: datetime,
        limit: int,
        retries: bool,
        channel: str | None = None,
        exclude_channels: Sequence[str] = (),
    ) -> list[NotificationEvent]:
        """Lease up to `limit` due rows (pending, held by quiet hours or a rate limit until
        now, or failed and due when `retries`), of one channel or of all but some."""
        due: ColumnElement[bool] = or_(
            _ROW.status == NotificationStatus.PENDING.value,
            and_(_ROW.status == NotificationStatus.HELD.value, _ROW.next_retry_at <= now),
        )
        if retries:
            due = or_(
                due,
                and_(
                    _ROW.status == NotificationStatus.FAILED.value,
                    _ROW.next_retry_at <= now,
                ),
            )
        if channel is not None:
            due = and_(due, _ROW.channel == channel)
        if exclude_channels:
            due = and_(due, _ROW.channel.not_in(exclude_channels))
        stmt = (
            select(_ROW)
            .where(due, or_(_ROW.lease_until.is_(None), _ROW.lease_until < now))
            .order_by(_ROW.created_at, _ROW.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = (await self.session.scalars(stmt)).all()
        if rows:
            await self.session.execute(
                update(_ROW)
                .where(_ROW.id.in_([r.id for r in rows]))
                .values(lease_until=lease_until)
            )
        return [replace(self.decode(r), lease_until=lease_until) for r in rows]

    async def record_results(self, results: Sequence[tuple[NotificationEvent, datetime]]) -> None:
        """Write attempt results, each only if the row is still held under the lease it was
        claimed with: a dispatcher that overran its lease cannot overwrite the result of the
        one that claimed the row after it."""
        if not results:
            return
        rows = []
        for event, lease in results:
            row = {f"v_{name}": getattr(event, name) for name in _DELIVERY_STATE}
            row.update(v_status=event.status.value, b_id=event.id, b_lease=lease)
            rows.append(row)
        # A Core statement on the table: the ORM's bulk UPDATE would match on the key alone.
        table = cast(Table, _ROW.__table__)
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c.lease_until == bindparam("b_lease"))
            .values({name: bindparam(f"v_{name}") for name in _DELIVERY_STATE})
        )
        await self.session.execute(stmt, rows)

    async def save(self, event: NotificationEvent) -> None:
        """Write back one row's delivery state."""
        await self.save_all([event])

    async def save_all(self, events: Sequence[NotificationEvent]) -> None:
        """Write back the delivery state of many rows in one executemany UPDATE."""
        if not events:
            return
        rows = [{name: getattr(e, name) for name in _DELIVERY_STATE} for e in events]
        for row, event in zip(rows, events, strict=True):
            row["id"] = event.id
            row["status"] = event.status.value
        await self.session.execute(
            update(_ROW), rows, execution_options={"synchronize_session": False}
        )

    async def search(
        self, *, request: PageRequest, filters: NotificationFilter
    ) -> Page[NotificationEvent]:
        """Newest first."""
        equals = {k: v for k, v in vars(filters).items() if v is not None}
        return await self.page(request=request, sort=SortKey("created_at", True), equals=equals)

    async def for_alerts(self, alert_ids: Sequence[str]) -> list[NotificationEvent]:
        """Every delivery of these alerts, oldest first."""
        if not alert_ids:
            return []
        stmt = (
            select(_ROW)
            .where(_ROW.alert_id.in_(alert_ids))
            .order_by(_ROW.created_at, _ROW.id)
            .with_for_update()
        )
        return [self.decode(r) for r in (await self.session.scalars(stmt)).all()]

    async def count_status(self, status: NotificationStatus) -> int:
        """Number of rows in one status."""
        stmt = select(func.count()).select_from(_ROW).where(_ROW.status == status.value)
        return int(await self.session.scalar(stmt) or 0)


def channels(session: AsyncSession) -> Repository[NotificationChannel]:
    """Repository of database-defined notification channels."""
    return Repository(session, NotificationChannelRow, CHANNEL, "notification_channel")
