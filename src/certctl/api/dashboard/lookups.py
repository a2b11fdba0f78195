"""Id → name tables of inventory resources, for filters, selects and readable tables."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from certctl.api.dashboard.session import Visitor
from certctl.bootstrap import AppContext
from certctl.domain.listing import MAX_PER_PAGE, PageRequest, SortKey
from certctl.errors import NotFound
from certctl.services.inventory import InventoryService

KINDS = ("teams", "owners", "issuers", "policies", "profiles", "targets", "agent_groups")


def _service(ctx: AppContext, kind: str) -> InventoryService[Any]:
    if kind not in KINDS:
        raise ValueError(f"unknown inventory kind {kind!r}")
    service: InventoryService[Any] = getattr(ctx, kind)
    return service


async def items(ctx: AppContext, who: Visitor, kind: str) -> list[Any]:
    """The first 500 resources of a kind, by name (enough for a select)."""
    page = await _service(ctx, kind).search(
        who.caller, request=PageRequest(per_page=MAX_PER_PAGE), sort=SortKey("name")
    )
    return list(page.items)


async def names(ctx: AppContext, who: Visitor, *kinds: str) -> dict[str, dict[str, str]]:
    """For each kind asked, id → name."""
    found = await asyncio.gather(*(items(ctx, who, kind) for kind in kinds))
    return {kind: {i.id: i.name for i in listed} for kind, listed in zip(kinds, found, strict=True)}


async def certificate_names(
    ctx: AppContext, who: Visitor, ids: Iterable[str | None]
) -> dict[str, str]:
    """id → name of the certificates a page mentions (unknown ids are left out)."""
    found: dict[str, str] = {}
    for cert_id in dict.fromkeys(i for i in ids if i):
        try:
            found[cert_id] = (await ctx.certificates.get(who.caller, cert_id)).name
        except NotFound:
            continue
    return found
