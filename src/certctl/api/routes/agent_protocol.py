"""Routes of the agent protocol (C7): what an agent process calls with its own credential.

Registration takes the bootstrap token; every other route takes the agent's credential and
answers 403 for another agent's path and 410 once the agent is retired.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from certctl.api.deps import (
    API_PREFIX,
    AgentCallerDep,
    AgentCredentialDep,
    ContextDep,
    admitted_agent,
    agent_caller,
    authenticated_agent,
    client_address,
    request_facts,
)
from certctl.api.schemas.agents import (
    AgentCertificateOut,
    CsrIn,
    CsrWorkOut,
    DeployWorkOut,
    HeartbeatIn,
    HeartbeatOut,
    IssuedOut,
    JobReportIn,
    JobReportOut,
    RegisterIn,
    RegisterOut,
    WorkOut,
)
from certctl.api.schemas.common import PROBLEM_RESPONSES
from certctl.api.schemas.discovery import DiscoveryReportIn, ReportOut
from certctl.domain.access import Caller
from certctl.domain.agents import split_leaf
from certctl.domain.jobs import Job
from certctl.errors import AuthenticationRequired
from certctl.services.agent_protocol import REGISTRANT

protocol = APIRouter(prefix=f"{API_PREFIX}/agents", tags=["agents"], responses=PROBLEM_RESPONSES)


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


@protocol.post("", name="register_agent", status_code=201, response_model=RegisterOut)
async def register_agent(ctx: ContextDep, request: Request, body: RegisterIn) -> RegisterOut:
    """Register an agent with the bootstrap token (Bearer); the credential is shown once."""
    caller = Caller(
        principal=REGISTRANT,
        request_id=getattr(request.state, "request_id", None),
        **request_facts(request),
    )
    try:
        agent, credential = await ctx.agent_protocol.register(
            caller, token=_bearer(request), name=body.name, facts=body.facts()
        )
    except AuthenticationRequired:
        await ctx.rate_limits.charge_address(client_address(request))
        raise
    return RegisterOut(agent_id=agent.id, credential=credential)


@protocol.post("/{agent_id}/heartbeat", name="agent_heartbeat", response_model=HeartbeatOut)
async def heartbeat(
    ctx: ContextDep,
    credential: AgentCredentialDep,
    request: Request,
    agent_id: str,
    body: HeartbeatIn,
) -> HeartbeatOut:
    """The agent is alive: Online, last heartbeat now, host facts refreshed."""
    agent = await admitted_agent(
        request, ctx.agent_protocol.heartbeat(credential, agent_id, body.facts())
    )
    agent_caller(request, agent)
    return HeartbeatOut(
        agent_id=agent.id, status=agent.status.value, last_heartbeat_at=agent.last_heartbeat_at
    )


@protocol.get("/{agent_id}/work", name="agent_work", response_model=WorkOut)
async def work(
    ctx: ContextDep, credential: AgentCredentialDep, request: Request, agent_id: str
) -> WorkOut:
    """Lease the agent's AwaitingCSR jobs and due deployments."""
    agent, due = await admitted_agent(request, ctx.agent_protocol.poll(credential, agent_id))
    who = agent_caller(request, agent)
    if not due:
        return WorkOut(csr_jobs=[], deployments=[])
    csrs, deploys = await ctx.agent_protocol.work(who, agent)
    return WorkOut(
        csr_jobs=[CsrWorkOut.model_validate(c) for c in csrs],
        deployments=[DeployWorkOut.model_validate(d) for d in deploys],
    )


@protocol.post(
    "/{agent_id}/csr",
    name="agent_submit_csr",
    response_model=IssuedOut,
    responses={202: {"model": IssuedOut, "description": "A remote CA's order is queued."}},
)
async def submit_csr(
    ctx: ContextDep,
    who: AgentCallerDep,
    request: Request,
    response: Response,
    agent_id: str,
    body: CsrIn,
) -> IssuedOut:
    """Issue from the agent's CSR for one of its AwaitingCSR jobs (checked against the profile).

    A local CA signs at once (200); a remote CA's order is queued on the job (202).
    """
    outcome = await ctx.agent_protocol.submit_csr(
        who, authenticated_agent(request), body.job_id, body.csr_pem
    )
    if isinstance(outcome, Job):
        response.status_code = 202
        return IssuedOut(
            job_id=outcome.id,
            certificate_id=outcome.certificate_id,
            queued=True,
            version_id=None,
            serial_number=None,
            fingerprint_sha256=None,
            not_after=None,
        )
    return IssuedOut(
        job_id=body.job_id,
        certificate_id=outcome.certificate_id,
        version_id=outcome.id,
        serial_number=outcome.serial_number,
        fingerprint_sha256=outcome.fingerprint_sha256,
        not_after=outcome.not_after,
    )


@protocol.get(
    "/{agent_id}/certificates/{cert_id}",
    name="agent_certificate",
    response_model=AgentCertificateOut,
)
async def certificate(
    ctx: ContextDep, who: AgentCallerDep, request: Request, agent_id: str, cert_id: str
) -> AgentCertificateOut:
    """The current version's leaf and chain PEM of a certificate the agent works on."""
    version = await ctx.agent_protocol.certificate(authenticated_agent(request), cert_id)
    leaf, chain = split_leaf(version.pem_chain)
    return AgentCertificateOut(
        certificate_id=cert_id,
        version_id=version.id,
        serial_number=version.serial_number,
        fingerprint_sha256=version.fingerprint_sha256,
        not_after=version.not_after,
        cert_pem=leaf,
        chain_pem=chain,
    )


@protocol.post(
    "/{agent_id}/jobs/{job_id}/status", name="agent_job_status", response_model=JobReportOut
)
async def job_status(
    ctx: ContextDep,
    who: AgentCallerDep,
    request: Request,
    agent_id: str,
    job_id: str,
    body: JobReportIn,
) -> JobReportOut:
    """Running, Completed (with the served fingerprint) or Failed (with the reason)."""
    job = await ctx.agent_protocol.report(
        who,
        authenticated_agent(request),
        job_id,
        status=body.status,
        reason=body.reason,
        served_sha256=body.served_sha256,
    )
    return JobReportOut.model_validate(job)


@protocol.post("/{agent_id}/discoveries", name="agent_report_discoveries", response_model=ReportOut)
async def report_discoveries(
    ctx: ContextDep, who: AgentCallerDep, request: Request, agent_id: str, body: DiscoveryReportIn
) -> ReportOut:
    """Record the certificates the agent found on its host, de-duplicated by fingerprint and path."""
    summary = await ctx.discovery.report_from_agent(
        who, authenticated_agent(request).id, [item.to_domain() for item in body.items]
    )
    return ReportOut(received=summary.received, new=summary.new, refreshed=summary.refreshed)
