"""The append-only audit trail: chained inserts, filtered reads and chain walks, never update
or delete."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from certctl.db.models import AuditChainHeadRow, AuditEventRow
from certctl.db.repositories.base import Codec
from certctl.domain.access import ActorType
from certctl.domain.audit import AuditEvent, AuditFilter, AuditStatus, jsonable
from certctl.domain.audit_chain import GENESIS, link
from certctl.domain.listing import Page, PageRequest

AUDIT = Codec(AuditEvent, {"actor_type": ActorType, "status": AuditStatus, "details": dict})
# Chain walks keep stored values as they are: a tampered row with an off-enum actor type or
# non-object details must be reported as a broken link, not crash the verification.
CHAIN = Codec(AuditEvent)
HEAD_ID = 1
_TABLE = cast(Table, AuditEventRow.__table__)
_HEAD = cast(Table, AuditChainHeadRow.__table__)
# Built once, on the tables rather than the mapped classes: every write transaction of the
# product sends them, and building a statement (or the ORM's bulk-update bookkeeping) cost
# more CPU than running it.
_HEAD_HASH = select(_HEAD.c.last_hash).where(_HEAD.c.id == HEAD_ID)
_LOCK_HEAD = _HEAD_HASH.with_for_update()
_MOVE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ID)
    .values(
        last_hash=bindparam("new_hash", type_=_HEAD.c.last_hash.type),
        last_seq=select(func.max(_TABLE.c.seq)).scalar_subquery(),
    )
)
_INSERT = insert(_TABLE).returning(_TABLE.c.seq)


class AuditRepository:
    """Writes and reads audit_events; the database refuses UPDATE, DELETE and REPLACE.

    Events added during a unit of work are chained and inserted by `append_pending` just
    before the commit, so the chain head stays locked only for the insert and the commit.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._pending: list[AuditEvent] = []

    async def add(self, event: AuditEvent) -> None:
        """Queue one event for this unit of work's commit."""
        self._pending.append(event)

    async def add_all(self, events: list[AuditEvent]) -> None:
        """Queue several events for this unit of work's commit."""
        self._pending.extend(events)

    async def append_pending(self) -> list[AuditEvent]:
        """Chain the queued events after the head (locked until commit) and insert them."""
        if not self._pending:
            return []
        events, self._pending = self._pending, []
        linked = link(events, await self._lock_head())
        # Core on the table (no ORM bookkeeping per row); RETURNING lets SQLAlchemy send the
        # rows as multi-row INSERTs, one statement per page rather than one execution per row.
        # Rows are inserted in VALUES order, and a row-level trigger sees the rows before it in
        # the same statement, so the chain guard checks each against its predecessor.
        await self.session.scalars(_INSERT, [row_columns(e) for e in linked])
        await self.session.execute(_MOVE_HEAD, {"new_hash": linked[-1].row_hash})
        return linked

    async def _lock_head(self) -> str:
        """Serialise appenders on the head row and return its hash.

        PostgreSQL: a row lock (SELECT … FOR UPDATE) that later appenders wait on; under READ
        COMMITTED they then read the head their predecessor committed. SQLite: the first
        write of the transaction takes the database's single write lock, so the head read
        after it is the newest.
        """
        if self.session.get_bind().dialect.name == "sqlite":
            await self.session.execute(_create_head(sqlite_insert))
            found = await self.session.scalar(_HEAD_HASH)
        else:
            found = await self.session.scalar(_LOCK_HEAD)
            if found is None:
                await self.session.execute(_create_head(pg_insert))
                found = await self.session.scalar(_LOCK_HEAD)
        return str(found) if found is not None else GENESIS

    async def chain_head(self) -> tuple[int | None, str, int | None]:
        """The recorded head (seq, hash) and the newest row's seq, read in one snapshot."""
        newest = select(func.max(AuditEventRow.seq)).scalar_subquery()
        stmt = select(AuditChainHeadRow.last_seq, AuditChainHeadRow.last_hash, newest).where(
            AuditChainHeadRow.id == HEAD_ID
        )
        row = (await self.session.execute(stmt)).first()
        if row is None:
            found = await self.session.scalar(select(func.max(AuditEventRow.seq)))
            return None, GENESIS, found
        return row[0], row[1], row[2]

    async def chain_slice(
        self, *, after_seq: int | None, upto_seq: int | None, limit: int
    ) -> list[AuditEvent]:
        """Up to `limit` rows in chain order after `after_seq` (and at most `upto_seq`)."""
        stmt = select(AuditEventRow).order_by(AuditEventRow.seq).limit(limit)
        if after_seq is not None:
            stmt = stmt.where(AuditEventRow.seq > after_seq)
        if upto_seq is not None:
            stmt = stmt.where(AuditEventRow.seq <= upto_seq)
        return [CHAIN.from_row(r) for r in (await self.session.scalars(stmt)).all()]

    async def page(self, *, request: PageRequest, filters: AuditFilter) -> Page[AuditEvent]:
        """Newest first, with the true total."""
        where = _clauses(filters)
        total = await self.session.scalar(select(func.count(AuditEventRow.seq)).where(*where))
        stmt = (
            select(AuditEventRow)
            .where(*where)
            .order_by(AuditEventRow.seq.desc())
            .offset(request.offset)
            .limit(request.per_page)
        )
        rows = (await self.session.scalars(stmt)).all()
        return Page(
            items=[AUDIT.from_row(r) for r in rows],
            total=int(total or 0),
            page=request.page,
            per_page=request.per_page,
        )

    async def count(self) -> int:
        """Number of rows in the trail."""
        return int(await self.session.scalar(select(func.count(AuditEventRow.seq))) or 0)


_INSERTED = tuple(name for name in AUDIT.fields if name != "seq")


def row_columns(event: AuditEvent) -> dict[str, Any]:
    """The insert values of one event (the database assigns seq)."""
    columns = {name: getattr(event, name) for name in _INSERTED}
    columns["details"] = jsonable(event.details)
    return columns


def _create_head(dialect_insert: Any) -> Any:
    return (
        dialect_insert(AuditChainHeadRow)
        .values(id=HEAD_ID, last_seq=None, last_hash=GENESIS)
        .on_conflict_do_nothing(index_elements=["id"])
    )


def _clauses(f: AuditFilter) -> Sequence[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    for name in ("actor", "action", "resource_type", "resource_id", "status"):
        value = getattr(f, name)
        if value is not None:
            clauses.append(getattr(AuditEventRow, name) == value)
    if f.since is not None:
        clauses.append(AuditEventRow.occurred_at >= f.since)
    if f.until is not None:
        clauses.append(AuditEventRow.occurred_at < f.until)
    return clauses
