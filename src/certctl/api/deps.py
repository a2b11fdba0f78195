"""FastAPI dependencies: the context, the authenticated caller, paging and sorting."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

import structlog
from fastapi import Depends, Query, Request

from certctl.bootstrap import AppContext
from certctl.domain.access import ANONYMOUS_DEMO, Caller, Permission, Principal
from certctl.domain.audit import AuditStatus
from certctl.domain.inventory import Agent
from certctl.domain.listing import DEFAULT_PER_PAGE, MAX_PER_PAGE, PageRequest
from certctl.errors import AuthenticationRequired, CertctlError
from certctl.services.agent_protocol import admit, agent_principal

log = structlog.get_logger("certctl.api")
T = TypeVar("T")

API_PREFIX = "/api/v1"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}
# Route tags name collections; audit rows name the resource type as the services do.
RESOURCE_TYPES = {
    "teams": "team",
    "owners": "owner",
    "renewal-policies": "renewal_policy",
    "profiles": "certificate_profile",
    "issuers": "issuer",
    "targets": "deployment_target",
    "agent-groups": "agent_group",
    "certificates": "certificate",
    "api-keys": "api_key",
    "notifications": "notification",
    "notification-channels": "notification_channel",
    "admin": "loop",
    "jobs": "job",
    "agents": "agent",
}


def context(request: Request) -> AppContext:
    """The application context built by bootstrap."""
    ctx: AppContext = request.app.state.ctx
    return ctx


async def caller(request: Request) -> Caller:
    """Authenticate the request (Bearer API key) and refuse writes for read-only roles."""
    ctx = context(request)
    request_id = getattr(request.state, "request_id", None)
    if ctx.settings.auth_type == "none":
        principal = ANONYMOUS_DEMO
    else:
        principal = await _authenticate(ctx, request)
        await ctx.rate_limits.charge_key(principal.name)
    found = Caller(principal=principal, request_id=request_id, **request_facts(request))
    request.state.caller = found
    structlog.contextvars.bind_contextvars(actor=principal.name)
    if request.method in MUTATING:
        principal.require(Permission.WRITE)
    return found


async def _authenticate(ctx: AppContext, request: Request) -> Principal:
    """The key's principal; a failure counts against the client address (C10)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationRequired("send the API key as 'Authorization: Bearer <key>'")
        return await ctx.api_keys.authenticate(token.strip())
    except AuthenticationRequired:
        await ctx.rate_limits.charge_address(client_address(request))
        raise


async def agent_credential(request: Request) -> str:
    """The Bearer credential of an agent route; none at all is a 401 charged to the address."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        await context(request).rate_limits.charge_address(client_address(request))
        raise AuthenticationRequired("send the agent credential as 'Authorization: Bearer …'")
    # Kept for audit_refusal: a malformed body refused before the route ran is still audited.
    request.state.agent_credential = token.strip()
    return token.strip()


async def admitted_agent(request: Request, found: Awaitable[T]) -> T:
    """Await an authenticating call; a refused credential counts against the address (C10)."""
    try:
        return await found
    except AuthenticationRequired:
        await context(request).rate_limits.charge_address(client_address(request))
        raise


def agent_caller(request: Request, agent: Agent) -> Caller:
    """The caller an authenticated agent acts as, kept on the request for audit and logs."""
    found = Caller(
        principal=agent_principal(agent),
        request_id=getattr(request.state, "request_id", None),
        **request_facts(request),
    )
    request.state.caller = found
    request.state.agent = agent
    structlog.contextvars.bind_contextvars(actor=found.principal.name)
    return found


async def current_agent(request: Request, agent_id: str) -> Caller:
    """Authenticate an agent by its credential: 403 for another agent's path, 410 once retired."""
    credential = await agent_credential(request)
    agent = await admitted_agent(request, context(request).agent_protocol.authenticate(credential))
    return agent_caller(request, admit(agent, agent_id))


def authenticated_agent(request: Request) -> Agent:
    """The agent `current_agent` authenticated for this request."""
    agent: Agent = request.state.agent
    return agent


def client_address(request: Request) -> str:
    """The peer address (behind a trusted proxy, uvicorn has already put the client's)."""
    return request.client.host if request.client else "unknown"


def request_facts(request: Request) -> dict[str, Any]:
    """The body hash (of a write, whose body FastAPI has read by now) and arrival time."""
    body_hash = getattr(request.state, "body_hash", None)
    return {
        "body_sha256": body_hash.hexdigest()
        if body_hash is not None and request.method in MUTATING
        else None,
        "received_at": getattr(request.state, "received_at", None),
    }


async def audit_refusal(request: Request, status: int, detail: str) -> None:
    """Record a refused or failed mutating call of an authenticated caller."""
    found: Caller | None = getattr(request.state, "caller", None)
    # 401, 403 and 410 are the agent check's own refusals: never authenticate those twice.
    if found is None and request.method in MUTATING and status not in (401, 403, 410, 429):
        found = await _pending_agent(request)
    # A throttled request costs no audit row: that is what the limit protects.
    if found is None or request.method not in MUTATING or status == 429:
        return
    route = request.scope.get("route")
    tags = getattr(route, "tags", None) or ["api"]
    resource_type = RESOURCE_TYPES.get(str(tags[0]), str(tags[0]))
    verb = _VERBS[request.method]
    outcome = "denied" if status == 403 else "failed"
    try:
        await context(request).audit.record_refusal(
            found,
            action=f"{resource_type}_{verb}_{outcome}",
            resource_type=resource_type,
            resource_id=str(request.path_params.get("resource_id", "-")),
            status=AuditStatus.DENIED if status == 403 else AuditStatus.FAILURE,
            details={"http_status": status, "detail": detail[:500], "path": request.url.path},
        )
    except Exception as exc:
        log.warning("audit.refusal_not_recorded", error=type(exc).__name__)


async def _pending_agent(request: Request) -> Caller | None:
    """The agent whose credential a route took but had not checked when it refused the call.

    The heartbeat authenticates inside its single UPDATE, so a body refused before that
    is authenticated here, as the other agent routes do before they read their body.
    """
    credential: str | None = getattr(request.state, "agent_credential", None)
    agent_id = request.path_params.get("agent_id")
    if credential is None or agent_id is None:
        return None
    try:
        agent = await admitted_agent(
            request, context(request).agent_protocol.authenticate(credential)
        )
        return agent_caller(request, admit(agent, str(agent_id)))
    except CertctlError:
        return None


async def page_request(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1.")] = 1,
    per_page: Annotated[
        int, Query(ge=1, le=MAX_PER_PAGE, description="Items per page (max 500).")
    ] = DEFAULT_PER_PAGE,
) -> PageRequest:
    """Paging parameters shared by every list endpoint."""
    return PageRequest(page=page, per_page=per_page)


async def context_dependency(request: Request) -> AppContext:
    """`context` as an async dependency: FastAPI runs plain `def` dependencies in its thread
    pool, a round trip every request would pay."""
    return context(request)


CallerDep = Annotated[Caller, Depends(caller)]
AgentCallerDep = Annotated[Caller, Depends(current_agent)]
AgentCredentialDep = Annotated[str, Depends(agent_credential)]
ContextDep = Annotated[AppContext, Depends(context_dependency)]
PageDep = Annotated[PageRequest, Depends(page_request)]
