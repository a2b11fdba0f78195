"""Alerts: conflict-free inserts, the open alerts of a certificate, filtered listing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import ColumnElement, Table, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from certctl.db.models import AlertRow, ManagedCertificateRow
from certctl.db.repositories.base import Codec, Repository, constant_in
from certctl.domain.alert_lifecycle import Alert, AlertKind, AlertState
from certctl.domain.listing import Page, PageRequest, SortKey

ALERT = Codec(Alert, {"kind": AlertKind, "state": AlertState})
OPEN_ALERT_STATES = (AlertState.OPEN.value, AlertState.ACKNOWLEDGED.value)
_ALERTS = cast(Table, AlertRow.__table__)
# Built once on the table (rows, not mapped objects): every issuance sends it.
_OPEN_FOR_MANY = (
    select(*_ALERTS.c)
    .where(
        _ALERTS.c.certificate_id.in_(bindparam("certificate_ids", expanding=True)),
        constant_in(_ALERTS.c.state, OPEN_ALERT_STATES),
    )
    .order_by(_ALERTS.c.certificate_id, _ALERTS.c.opened_at, _ALERTS.c.id)
    .with_for_update()
)
_TABLE = cast(Table, AlertRow.__table__)


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts to list; owner and team are the certificate's."""

    state: str | None = None
    kind: str | None = None
    tier: str | None = None
    certificate_id: str | None = None
    owner_id: str | None = None
    team_id: str | None = None


class AlertRepository(Repository[Alert]):
    """Alert rows."""

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, AlertRow, ALERT, "alert", search_columns=("subject",))

    async def insert_new(self, alerts: Sequence[Alert]) -> set[str]:
        """Insert the alerts whose dedup key is new (existing ones are left as they are);
        return the dedup keys actually inserted."""
        if not alerts:
            return set()
        dialect = self.session.bind.dialect.name if self.session.bind else "sqlite"
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        # Core executemany on the table; RETURNING yields only the rows that did not conflict.
        stmt = (
            insert(_TABLE)
            .on_conflict_do_nothing(index_elements=["dedup_key"])
            .returning(_TABLE.c.dedup_key)
        )
        rows = [self.codec.to_columns(a) for a in alerts]
        return set((await self.session.scalars(stmt, rows)).all())

    async def by_dedup_keys(self, keys: Sequence[str]) -> dict[str, Alert]:
        """The alerts with these dedup keys, by key."""
        if not keys:
            return {}
        stmt = select(AlertRow).where(AlertRow.dedup_key.in_(keys))
        return {r.dedup_key: self.decode(r) for r in (await self.session.scalars(stmt)).all()}

    async def open_for(self, certificate_id: str) -> list[Alert]:
        """The certificate's alerts that are open or acknowledged, oldest first."""
        stmt = (
            select(AlertRow)
            .where(AlertRow.certificate_id == certificate_id, AlertRow.state.in_(OPEN_ALERT_STATES))
            .order_by(AlertRow.opened_at, AlertRow.id)
            .with_for_update()
        )
        return [self.decode(r) for r in (await self.session.scalars(stmt)).all()]

    async def open_for_many(self, certificate_ids: Sequence[str]) -> dict[str, list[Alert]]:
        """`open_for` of several certificates in one statement, by certificate id (those
        without an open alert are absent), locked in certificate order."""
        if not certificate_ids:
            return {}
        found: dict[str, list[Alert]] = {}
        rows = await self.session.execute(
            _OPEN_FOR_MANY, {"certificate_ids": list(certificate_ids)}
        )
        for row in rows.all():
            found.setdefault(row.certificate_id, []).append(self.decode(row))
        return found

    async def escalation_candidates(self, tier: str) -> list[Alert]:
        """Open (unacknowledged) alerts of `tier` not escalated yet, oldest first, locked."""
        stmt = (
            select(AlertRow)
            .where(
                AlertRow.state == AlertState.OPEN.value,
                AlertRow.tier == tier,
                AlertRow.escalation_level == 0,
            )
            .order_by(AlertRow.opened_at, AlertRow.id)
            .with_for_update(skip_locked=True)
        )
        return [self.decode(r) for r in (await self.session.scalars(stmt)).all()]

    async def search(
        self, *, request: PageRequest, sort: SortKey, filters: AlertFilter
    ) -> Page[Alert]:
        """One filtered, sorted page of alerts."""
        equals = {
            k: v
            for k, v in vars(filters).items()
            if v is not None and k not in {"owner_id", "team_id"}
        }
        where: list[ColumnElement[bool]] = []
        mc = ManagedCertificateRow
        if filters.owner_id is not None:
            owned = select(mc.id).where(mc.owner_id == filters.owner_id)
            where.append(AlertRow.certificate_id.in_(owned))
        if filters.team_id is not None:
            teamed = select(mc.id).where(mc.team_id == filters.team_id)
            where.append(AlertRow.certificate_id.in_(teamed))
        return await self.page(request=request, sort=sort, equals=equals, where=where)

    async def open_by_tier(self) -> dict[str, int]:
        """Number of open or acknowledged alerts per tier."""
        stmt = (
            select(AlertRow.tier, func.count())
            .where(AlertRow.state.in_(OPEN_ALERT_STATES))
            .group_by(AlertRow.tier)
        )
        return {str(tier): int(n) for tier, n in (await self.session.execute(stmt)).all()}
