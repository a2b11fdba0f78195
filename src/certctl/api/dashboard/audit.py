"""The audit page: filters, paging, export of the filtered trail as CSV or JSON, and the
verification of its hash chain."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from certctl.api.dashboard.rendering import DashboardRoute, page_count, past_the_end, render
from certctl.api.dashboard.session import Visitor, VisitorDep
from certctl.bootstrap import AppContext
from certctl.domain.audit import AuditEvent, AuditFilter, AuditStatus, jsonable
from certctl.domain.listing import MAX_PER_PAGE, PageRequest
from certctl.errors import InvalidRequest

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

PER_PAGE = 50
EXPORT_LIMIT = 100_000
COLUMNS = (
    "id",
    "occurred_at",
    "actor",
    "actor_type",
    "action",
    "resource_type",
    "resource_id",
    "status",
    "request_id",
    "details",
)
Text = Annotated[str | None, Query(max_length=200)]


@dataclass(frozen=True)
class AuditQuery:
    """The filter form's values as typed (dates are whole UTC days, `until` inclusive)."""

    actor: str = ""
    action: str = ""
    resource_type: str = ""
    resource_id: str = ""
    status: str = ""
    since: str = ""
    until: str = ""

    def to_filter(self) -> AuditFilter:
        """The service filter for these values."""
        until = _day(self.until, "until")
        return AuditFilter(
            actor=self.actor or None,
            action=self.action or None,
            resource_type=self.resource_type or None,
            resource_id=self.resource_id or None,
            status=self.status or None,
            since=_day(self.since, "since"),
            until=until + timedelta(days=1) if until else None,
        )


def _day(value: str, field: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
    except ValueError:
        raise InvalidRequest(f"{value!r} is not a date (YYYY-MM-DD)", field=field) from None


def audit_query(
    actor: Text = None,
    action: Text = None,
    resource_type: Text = None,
    resource_id: Text = None,
    status: Text = None,
    since: Text = None,
    until: Text = None,
) -> AuditQuery:
    """The filters from the query string."""
    return AuditQuery(
        actor=actor or "",
        action=action or "",
        resource_type=resource_type or "",
        resource_id=resource_id or "",
        status=status or "",
        since=since or "",
        until=until or "",
    )


QueryDep = Annotated[AuditQuery, Depends(audit_query)]


@router.get("/audit")
async def audit_list(
    request: Request,
    who: VisitorDep,
    query: QueryDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """Audit events, newest first, filtered."""
    ctx: AppContext = request.app.state.ctx
    listing = await ctx.audit.search(
        who.caller, request=PageRequest(page=page, per_page=PER_PAGE), filters=query.to_filter()
    )
    if (last := past_the_end(request, page, listing.total, PER_PAGE)) is not None:
        return last
    return render(
        request,
        "audit.html",
        title="Audit",
        active="audit",
        listing=listing,
        pages=page_count(listing.total, PER_PAGE),
        query=query,
        statuses=[s.value for s in AuditStatus],
        export_query=request.url.query,
    )


@router.get("/audit/verify")
async def audit_verify(request: Request, who: VisitorDep) -> Response:
    """Recompute the audit hash chain (admin and auditor) and show the first broken link."""
    ctx: AppContext = request.app.state.ctx
    report = await ctx.audit.verify(who.caller)
    return render(request, "audit_verify.html", title="Audit chain", active="audit", report=report)


def row(event: AuditEvent) -> dict[str, Any]:
    """One event as plain values (details as a JSON object)."""
    return {
        "id": event.id,
        "occurred_at": event.occurred_at.isoformat(),
        "actor": event.actor,
        "actor_type": event.actor_type.value,
        "action": event.action,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "status": event.status.value,
        "request_id": event.request_id,
        "details": jsonable(dict(event.details)),
    }


async def _events(ctx: AppContext, who: Visitor, filters: AuditFilter) -> AsyncIterator[AuditEvent]:
    page, sent = 1, 0
    while sent < EXPORT_LIMIT:
        found = await ctx.audit.search(
            who.caller, request=PageRequest(page=page, per_page=MAX_PER_PAGE), filters=filters
        )
        for event in found.items:
            yield event
        sent += len(found.items)
        if len(found.items) < MAX_PER_PAGE:
            return
        page += 1


async def _csv(events: AsyncIterator[AuditEvent]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    async for event in events:
        values = row(event)
        values["details"] = json.dumps(values["details"], sort_keys=True)
        writer.writerow(values)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


async def _json(events: AsyncIterator[AuditEvent]) -> AsyncIterator[str]:
    yield "["
    first = True
    async for event in events:
        yield ("" if first else ",") + json.dumps(row(event), sort_keys=True)
        first = False
    yield "]\n"


@router.get("/audit/export")
async def audit_export(
    request: Request,
    who: VisitorDep,
    query: QueryDep,
    format: Annotated[str, Query(pattern="^(csv|json)$")] = "csv",
) -> Response:
    """The filtered trail as a CSV or JSON download (newest first, at most 100 000 rows)."""
    ctx: AppContext = request.app.state.ctx
    filters = query.to_filter()
    # Check the permission before the response starts: a streamed body cannot turn into 403.
    await ctx.audit.search(who.caller, request=PageRequest(per_page=1), filters=filters)
    events = _events(ctx, who, filters)
    body = _csv(events) if format == "csv" else _json(events)
    stamp = ctx.clock.now().strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        body,
        media_type="text/csv" if format == "csv" else "application/json",
        headers={
            "Content-Disposition": f'attachment; filename="certctl-audit-{stamp}.{format}"',
            "Cache-Control": "no-store",
        },
    )
