"""A certificate list page rendered as JSON by PostgreSQL itself (SPEC C13's hottest read).

The page's fifty rows cost the server more to receive, decode into Python values and encode
again than everything else the request does. PostgreSQL builds the page's `data` array in
one value instead, in the API's own format: CertificateOut's fields in order, instants as
pydantic writes them (UTC, `Z`, microseconds only when there are any), `renewal_info` null.
The JSON columns are embedded as stored, so their text may differ from the encoder's in
whitespace only. SQLite keeps the row path (certificate_reads).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Text,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from certctl.db.models import CertificateTargetRow, ManagedCertificateRow
from certctl.db.repositories.certificate_queries import (
    FIELDS,
    FilterShape,
    count_statement,
    page_order,
    where_clauses,
)
from certctl.domain.listing import SortKey

_TABLE = ManagedCertificateRow.__table__
_LINKS = CertificateTargetRow.__table__
_INSTANTS = frozenset(
    {
        "expires_at",
        "last_renewal_at",
        "last_deployment_at",
        "revoked_at",
        "created_at",
        "updated_at",
    }
)
_EMPTY = {"sans": "'[]'::jsonb", "tags": "'{}'::jsonb"}


def _instant(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """An instant as pydantic renders an aware UTC datetime: six digits of fraction, none
    for whole seconds; `Z` for UTC (NULL stays NULL). One to_char and a replace cost a
    quarter less than testing for whole seconds first."""
    text = func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    return func.replace(text, ".000000Z", "Z")


def _value(page: Any, name: str) -> ColumnElement[Any]:
    column = page.c[name]
    if name in _INSTANTS:
        return _instant(column)
    if name in _EMPTY:
        return func.coalesce(column, literal_column(_EMPTY[name]))
    return column  # type: ignore[no-any-return]


@lru_cache(maxsize=512)
def page_json_statement(shape: FilterShape, sort: SortKey) -> Select[Any]:
    """One row: the filtered total, then the page's `data` array as JSON text."""
    page = (
        select(*(_TABLE.c[name] for name in FIELDS))
        .where(*where_clauses(shape))
        .order_by(*page_order(_TABLE.c, sort))
        .offset(bindparam("page_offset", type_=Integer))
        .limit(bindparam("page_limit", type_=Integer))
        .subquery("page")
    )
    target_ids = (
        select(func.json_agg(aggregate_order_by(_LINKS.c.target_id, _LINKS.c.target_id)))
        .where(_LINKS.c.certificate_id == page.c.id)
        .scalar_subquery()
    )
    pairs: list[Any] = []
    for name in FIELDS:
        pairs += [literal(name, Text), _value(page, name)]
    pairs += [
        literal("target_ids", Text),
        func.coalesce(target_ids, literal_column("'[]'::json")),
        literal("renewal_info", Text),
        null(),
    ]
    record = func.json_build_object(*pairs)
    data = select(
        func.coalesce(
            func.json_agg(aggregate_order_by(record, *page_order(page.c, sort))),
            literal_column("'[]'::json"),
        )
    ).scalar_subquery()
    return select(
        count_statement(shape).scalar_subquery().label("total"),
        cast(data, Text).label("data"),
    )
