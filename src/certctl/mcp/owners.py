"""MCP tools of owners: list, create and update, the digest setting included (C3)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from mcp_types import ToolAnnotations
from pydantic import Field

from certctl.client import CertctlClient

OwnerId = Annotated[str, Field(min_length=1, description="Owner id, e.g. o-01j….")]
Digest = Annotated[
    Literal["off", "daily", "weekly"] | None,
    Field(
        description="E-mail digest of open critical alerts, failed renewals and pending "
        "approvals: off, daily (08:00 UTC) or weekly (Mondays 08:00 UTC)."
    ),
]
Answer = Callable[[Any], Any]


def _given(values: dict[str, Any]) -> dict[str, Any]:
    """The arguments the model gave (omitted ones stay as they are)."""
    return {key: value for key, value in values.items() if value is not None}


class OwnerTools:
    """Owners and their digest; each docstring is what the model reads."""

    def __init__(self, client: CertctlClient, answer: Answer) -> None:
        self.client = client
        self.answer = answer

    async def list_owners(
        self,
        team_id: Annotated[str | None, Field(description="Only this team's owners.")] = None,
        page: Annotated[int, Field(ge=1)] = 1,
        per_page: Annotated[int, Field(ge=1, le=500)] = 50,
    ) -> str:
        """List owners (people or mailboxes answerable for certificates) with their team and
        digest setting; answers {data, total, page, per_page}."""
        call = self.client.list_owners(team_id=team_id, page=page, per_page=per_page)
        return str(await self.answer(call))

    async def create_owner(
        self,
        name: Annotated[str, Field(min_length=1, description="Name.")],
        email: Annotated[str, Field(min_length=3, description="E-mail address.")],
        team_id: Annotated[str | None, Field(description="Team id.")] = None,
        digest: Digest = None,
        owner_id: Annotated[
            str | None, Field(description="Id to use; generated if omitted.")
        ] = None,
    ) -> str:
        """Add an owner (digest off unless given); answers the owner."""
        fields = _given(
            {"id": owner_id, "name": name, "email": email, "team_id": team_id, "digest": digest}
        )
        return str(await self.answer(self.client.create_owner(fields)))

    async def update_owner(
        self,
        owner_id: OwnerId,
        name: Annotated[str | None, Field(min_length=1, description="New name.")] = None,
        email: Annotated[str | None, Field(min_length=3, description="New e-mail.")] = None,
        team_id: Annotated[str | None, Field(description="New team id.")] = None,
        digest: Digest = None,
    ) -> str:
        """Change an owner's name, e-mail, team or digest (omitted fields stay); answers the
        owner."""
        changes = _given({"name": name, "email": email, "team_id": team_id, "digest": digest})
        return str(await self.answer(self.client.update_owner(owner_id, changes)))


def owner_tools(
    client: CertctlClient, answer: Answer, read: ToolAnnotations, write: ToolAnnotations
) -> Sequence[tuple[Callable[..., Any], ToolAnnotations]]:
    """The tools and their hints, for `build_server` to register."""
    tools = OwnerTools(client, answer)
    return (
        (tools.list_owners, read),
        (tools.create_owner, write),
        (tools.update_owner, write),
    )
