"""The generic repository: row <-> domain mapping, CRUD, filtered and sorted paging."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import ColumnElement, Select, func, literal_column, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from certctl.db.models import Base
from certctl.domain.audit import jsonable
from certctl.domain.listing import Page, PageRequest, SortKey
from certctl.errors import Conflict, NotFound

D = TypeVar("D")
Decoder = Callable[[Any], Any]


class Codec(Generic[D]):
    """Maps a domain dataclass to a row's columns and back; `decoders` fix field types."""

    def __init__(
        self,
        domain_cls: type[D],
        decoders: Mapping[str, Decoder] | None = None,
        skip: Sequence[str] = (),
    ) -> None:
        self.domain_cls = domain_cls
        self.decoders = dict(decoders or {})
        self.fields = [
            f.name
            for f in dataclasses.fields(domain_cls)  # type: ignore[arg-type]
            if f.name not in skip
        ]

    def to_columns(self, obj: D) -> dict[str, Any]:
        """Column values for `obj` (datetimes stay datetimes)."""
        return {
            name: value if _is_plain(value := getattr(obj, name)) else jsonable(value)
            for name in self.fields
        }

    def from_row(self, row: Any, **extra: Any) -> D:
        """Build the domain object from a row (plus values not stored in the row)."""
        values = {}
        for name in self.fields:
            value = getattr(row, name)
            decoder = self.decoders.get(name)
            if decoder is not None and value is not None:
                value = decoder(value)
            elif isinstance(value, list):
                value = tuple(value)
            values[name] = value
        return self.domain_cls(**values, **extra)


_PLAIN_TYPES = frozenset({type(None), str, int, float, bool, datetime})


def _is_plain(value: Any) -> bool:
    if type(value) in _PLAIN_TYPES:  # the common case, without isinstance/hasattr checks
        return True
    return value is None or isinstance(value, str | int | float | bool) or hasattr(value, "tzinfo")


def constant_in(column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    """`column IN ('a', 'b')` with the values written into the SQL.

    For fixed sets of enum values in prebuilt statements: SQLAlchemy renders an `IN` of bound
    values again on every execution (it expands the list into one parameter per value), while
    constants are compiled once with the statement. Never for values that come from a caller.
    """
    quoted: list[ColumnElement[Any]] = [
        literal_column("'" + value.replace("'", "''") + "'") for value in values
    ]
    return cast("ColumnElement[bool]", column.in_(quoted))


def conflict_from(exc: IntegrityError, resource_type: str) -> Conflict:
    """Describe a database integrity failure in API terms."""
    message = str(exc.orig).lower()
    if "unique" in message or "duplicate" in message:
        return Conflict(f"a {resource_type} with the same unique value (name or id) already exists")
    if "foreign key" in message:
        return Conflict(
            f"{resource_type} is referenced by other records or references a missing one"
        )
    return Conflict(f"{resource_type} change violates a database constraint")


class Repository(Generic[D]):
    """CRUD and listing for one table mapped to one domain dataclass."""

    def __init__(
        self,
        session: AsyncSession,
        row_cls: type[Base],
        codec: Codec[D],
        resource_type: str,
        search_columns: Sequence[str] = ("name",),
    ) -> None:
        self.session = session
        self.row_cls = row_cls
        self.codec = codec
        self.resource_type = resource_type
        self.search_columns = search_columns

    def column(self, name: str) -> Any:
        """The mapped column called `name`."""
        return getattr(self.row_cls, name)

    async def get(self, resource_id: str) -> D | None:
        """Return the object with this id, or None."""
        row = await self.session.get(self.row_cls, resource_id)
        return None if row is None else self.decode(row)

    async def require(self, resource_id: str) -> D:
        """Return the object with this id or raise NotFound."""
        found = await self.get(resource_id)
        if found is None:
            raise NotFound(self.resource_type, resource_id)
        return found

    async def exists(self, resource_id: str) -> bool:
        """Tell whether a row with this id exists."""
        stmt = (
            select(func.count()).select_from(self.row_cls).where(self.column("id") == resource_id)
        )
        return bool(await self.session.scalar(stmt))

    def decode(self, row: Any) -> D:
        """Domain object for a loaded row."""
        return self.codec.from_row(row)

    async def add(self, obj: D) -> D:
        """Insert `obj`; a duplicate is a Conflict."""
        self.session.add(self.row_cls(**self.codec.to_columns(obj)))
        await self._flush()
        return obj

    async def update(self, obj: D) -> D:
        """Write every field of `obj` over its row."""
        columns = self.codec.to_columns(obj)
        row = await self.session.get(self.row_cls, columns["id"])
        if row is None:
            raise NotFound(self.resource_type, columns["id"])
        for name, value in columns.items():
            setattr(row, name, value)
        await self._flush()
        return obj

    async def delete(self, resource_id: str) -> None:
        """Remove the row; one still referenced elsewhere is a Conflict."""
        row = await self.session.get(self.row_cls, resource_id)
        if row is None:
            raise NotFound(self.resource_type, resource_id)
        await self.session.delete(row)
        await self._flush()

    async def count_by(self, column: str) -> dict[str, int]:
        """Number of rows per distinct value of `column`."""
        col = self.column(column)
        stmt = select(col, func.count()).group_by(col)
        return {str(value): int(n) for value, n in (await self.session.execute(stmt)).all()}

    async def _flush(self) -> None:
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise conflict_from(exc, self.resource_type) from exc

    def search_clause(self, q: str) -> ColumnElement[bool]:
        """Case-insensitive substring match over the searchable columns."""
        pattern = f"%{q.lower()}%"
        return or_(*(func.lower(self.column(c)).like(pattern) for c in self.search_columns))

    async def page(
        self,
        *,
        request: PageRequest,
        sort: SortKey,
        equals: Mapping[str, Any] | None = None,
        q: str | None = None,
        where: Sequence[ColumnElement[bool]] = (),
    ) -> Page[D]:
        """One page of rows matching the filters, ordered by `sort` then id, with the true total."""
        clauses = [*where, *(self.column(k) == v for k, v in (equals or {}).items())]
        if q:
            clauses.append(self.search_clause(q))
        base = select(self.row_cls).where(*clauses)
        total = await self.session.scalar(select(func.count()).select_from(base.subquery()))
        rows = (await self.session.scalars(self._ordered(base, sort, request))).all()
        return Page(
            items=[self.decode(r) for r in rows],
            total=int(total or 0),
            page=request.page,
            per_page=request.per_page,
        )

    def _ordered(self, stmt: Select[Any], sort: SortKey, request: PageRequest) -> Select[Any]:
        col = self.column(sort.field)
        order = col.desc().nulls_last() if sort.descending else col.asc().nulls_last()
        tiebreak = self.column("id").desc() if sort.descending else self.column("id").asc()
        return stmt.order_by(order, tiebreak).offset(request.offset).limit(request.per_page)
