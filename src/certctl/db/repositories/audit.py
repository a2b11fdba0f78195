"""The append-only audit trail: insert and filtered reads, never update or delete."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from certctl.db.models import AuditEventRow
from certctl.db.repositories.base import Codec
from certctl.domain.access import ActorType
from certctl.domain.audit import AuditEvent, AuditFilter, AuditStatus, jsonable
from certctl.domain.listing import Page, PageRequest

AUDIT = Codec(AuditEvent, {"actor_type": ActorType, "status": AuditStatus, "details": dict})


class AuditRepository:
    """Writes and reads audit_events; the database refuses UPDATE and DELETE."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, event: AuditEvent) -> None:
        """Append one event."""
        columns = AUDIT.to_columns(event)
        columns["details"] = jsonable(event.details)
        self.session.add(AuditEventRow(**columns))
        await self.session.flush()

    async def add_all(self, events: list[AuditEvent]) -> None:
        """Append several events in one statement."""
        if not events:
            return
        rows = []
        for event in events:
            columns = AUDIT.to_columns(event)
            columns["details"] = jsonable(event.details)
            rows.append(columns)
        await self.session.execute(insert(AuditEventRow), rows)

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
