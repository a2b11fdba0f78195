"""One router factory for the inventory resources that share the standard CRUD shape."""

# No `from __future__ import annotations`: FastAPI must see the real classes bound below.

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel

from certctl.api.deps import API_PREFIX, CallerDep, ContextDep, PageDep
from certctl.api.schemas.common import PROBLEM_RESPONSES, In, Out, PageOut
from certctl.bootstrap import AppContext
from certctl.domain.listing import parse_sort
from certctl.services.inventory import InventoryService


class ListQuery(BaseModel):
    """Search and sort shared by every inventory list."""

    q: str | None = None
    sort: str | None = None


def inventory_router(
    *,
    path: str,
    tag: str,
    service: Callable[[AppContext], InventoryService[Any]],
    create: type[In],
    patch: type[In],
    out: type[Out],
    filters: type[ListQuery] = ListQuery,
    sort_fields: Sequence[str] = ("name", "created_at", "updated_at"),
    default_sort: str = "name",
) -> APIRouter:
    """Build list/create/get/update/delete routes for one resource under `path`."""
    router = APIRouter(prefix=f"{API_PREFIX}{path}", tags=[tag], responses=PROBLEM_RESPONSES)
    page_model = PageOut[out]  # type: ignore[valid-type]

    async def list_items(ctx: ContextDep, who: CallerDep, paging: PageDep, query: ListQuery) -> Any:
        sort = parse_sort(query.sort, sort_fields, default_sort)
        equals = query.model_dump(exclude={"q", "sort"}, exclude_none=True)
        page = await service(ctx).search(who, request=paging, sort=sort, equals=equals, q=query.q)
        return page_model.of(page, out)

    async def create_item(ctx: ContextDep, who: CallerDep, body: In, response: Response) -> Any:
        created = await service(ctx).create(who, body.model_dump(exclude_unset=True))
        response.headers["Location"] = f"{API_PREFIX}{path}/{created.id}"
        return out.model_validate(created)

    async def get_item(ctx: ContextDep, who: CallerDep, resource_id: str) -> Any:
        return out.model_validate(await service(ctx).get(who, resource_id))

    async def update_item(ctx: ContextDep, who: CallerDep, resource_id: str, body: In) -> Any:
        changes = body.changes(create)
        return out.model_validate(await service(ctx).update(who, resource_id, changes))

    async def delete_item(ctx: ContextDep, who: CallerDep, resource_id: str) -> Response:
        await service(ctx).delete(who, resource_id)
        return Response(status_code=204)

    # The handlers are shared; the concrete body and query models are bound per resource.
    list_items.__annotations__["query"] = Annotated[filters, Query()]
    create_item.__annotations__["body"] = create
    update_item.__annotations__["body"] = patch

    router.add_api_route(
        "", list_items, methods=["GET"], name=f"list_{tag}", response_model=page_model
    )
    router.add_api_route(
        "",
        create_item,
        methods=["POST"],
        name=f"create_{tag}",
        status_code=status.HTTP_201_CREATED,
        response_model=out,
    )
    router.add_api_route(
        "/{resource_id}", get_item, methods=["GET"], name=f"get_{tag}", response_model=out
    )
    for method in ("PUT", "PATCH"):
        router.add_api_route(
            "/{resource_id}",
            update_item,
            methods=[method],
            name=f"update_{tag}",
            response_model=out,
        )
    router.add_api_route(
        "/{resource_id}", delete_item, methods=["DELETE"], name=f"delete_{tag}", status_code=204
    )
    return router
