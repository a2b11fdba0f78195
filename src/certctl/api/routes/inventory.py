"""Routes of teams, owners, policies, profiles, issuers, targets and agent groups."""

from __future__ import annotations

from fastapi import APIRouter

from certctl.api.routes.crud import ListQuery, inventory_router
from certctl.api.schemas import inventory as inv
from certctl.api.schemas import policies as pol
from certctl.domain.inventory import IssuerType, TargetType


class OwnerQuery(ListQuery):
    """Owner list filters."""

    team_id: str | None = None


class PolicyQuery(ListQuery):
    """Renewal policy list filters."""

    certificate_profile_id: str | None = None


class IssuerQuery(ListQuery):
    """Issuer list filters."""

    type: IssuerType | None = None
    enabled: bool | None = None


class TargetQuery(ListQuery):
    """Deployment target list filters."""

    type: TargetType | None = None
    agent_id: str | None = None
    enabled: bool | None = None


def routers() -> list[APIRouter]:
    """Every inventory router."""
    return [
        inventory_router(
            path="/teams",
            tag="teams",
            service=lambda ctx: ctx.teams,
            create=inv.TeamIn,
            patch=inv.TeamPatch,
            out=inv.TeamOut,
        ),
        inventory_router(
            path="/owners",
            tag="owners",
            service=lambda ctx: ctx.owners,
            create=inv.OwnerIn,
            patch=inv.OwnerPatch,
            out=inv.OwnerOut,
            filters=OwnerQuery,
        ),
        inventory_router(
            path="/renewal-policies",
            tag="renewal-policies",
            service=lambda ctx: ctx.policies,
            create=pol.PolicyIn,
            patch=pol.PolicyPatch,
            out=pol.PolicyOut,
            filters=PolicyQuery,
        ),
        inventory_router(
            path="/profiles",
            tag="profiles",
            service=lambda ctx: ctx.profiles,
            create=pol.ProfileIn,
            patch=pol.ProfilePatch,
            out=pol.ProfileOut,
        ),
        inventory_router(
            path="/issuers",
            tag="issuers",
            service=lambda ctx: ctx.issuers,
            create=inv.IssuerIn,
            patch=inv.IssuerPatch,
            out=inv.IssuerOut,
            filters=IssuerQuery,
        ),
        inventory_router(
            path="/targets",
            tag="targets",
            service=lambda ctx: ctx.targets,
            create=inv.TargetIn,
            patch=inv.TargetPatch,
            out=inv.TargetOut,
            filters=TargetQuery,
        ),
        inventory_router(
            path="/agent-groups",
            tag="agent-groups",
            service=lambda ctx: ctx.agent_groups,
            create=inv.AgentGroupIn,
            patch=inv.AgentGroupPatch,
            out=inv.AgentGroupOut,
        ),
    ]
