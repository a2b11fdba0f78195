"""The agent protocol (C7): registration, heartbeats, work, CSRs, certificates, job reports.

An agent authenticates with its own credential (only a hash is stored) and sees only its
jobs: AwaitingCSR issuing jobs assigned to it and Deployment jobs to its targets. It never
sends a private key: it generates the key on its host and posts a CSR.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from certctl.domain.access import ActorType, Caller, Principal, Role, hash_api_key
from certctl.domain.agents import (
    CsrWork,
    DeployWork,
    HeartbeatFacts,
    ReportedStatus,
    check_agent_name,
    check_bootstrap_token,
    check_reregistration,
    generate_credential,
)
from certctl.domain.certificates import CertificateVersion
from certctl.domain.ids import new_id
from certctl.domain.inventory import Agent, AgentStatus
from certctl.domain.jobs import Job, JobStatus, JobType
from certctl.domain.renewal import key_spec_for
from certctl.errors import AuthenticationRequired, Gone, NotFound, PermissionDenied
from certctl.services.audit import record
from certctl.services.issuance import certificate_profile
from certctl.services.jobs import JobService
from certctl.services.runtime import Runtime

RESOURCE = "agent"
WORK_BATCH = 20


REGISTRANT = Principal(name="agent-registration", role=Role.AGENT, actor_type=ActorType.AGENT)
"""Who calls the registration route before an agent exists (audited as the new agent)."""


def agent_principal(agent: Agent) -> Principal:
    """The principal an agent acts as: its name, actor type Agent, no API permissions."""
    return Principal(name=f"agent:{agent.name}", role=Role.AGENT, actor_type=ActorType.AGENT)


def _acting(caller: Caller) -> Caller:
    """The agent's caller for the issuance path, once the route has checked it owns the job."""
    principal = dataclasses.replace(caller.principal, role=Role.OPERATOR)
    return dataclasses.replace(caller, principal=principal)


class AgentProtocolService:
    """What an agent process asks of the server."""

    def __init__(
        self,
        runtime: Runtime,
        jobs: JobService,
        *,
        bootstrap_token: str | None,
        demo: bool,
        lease: timedelta,
    ) -> None:
        self.runtime = runtime
        self.jobs = jobs
        self.bootstrap_token = bootstrap_token
        self.demo = demo
        self.lease = lease

    async def register(
        self, caller: Caller, *, token: str | None, name: str, facts: HeartbeatFacts
    ) -> tuple[Agent, str]:
        """Register an agent (or the same name again from the same host) → its new credential.

        The credential is returned once; the server keeps its SHA-256 only. A re-registration
        replaces the previous credential, so a reinstalled host takes its agent back.
        """
        check_bootstrap_token(token, self.bootstrap_token, demo=self.demo)
        name = check_agent_name(name)
        credential = generate_credential()
        now = self.runtime.clock.now()
        async with self.runtime.db.uow() as uow:
            existing = await uow.agents.active_by_name(name)
            if existing is not None:
                check_reregistration(existing, facts.hostname)
            base = existing or Agent(
                id=new_id("agent", now), name=name, created_at=now, updated_at=now
            )
            agent = dataclasses.replace(
                _with_facts(base, facts, now), credential_hash=hash_api_key(credential)
            )
            await (uow.agents.update(agent) if existing else uow.agents.add(agent))
            who = dataclasses.replace(caller, principal=agent_principal(agent))
            await record(
                uow,
                self.runtime,
                caller=who,
                action="agent_reregistered" if existing else "agent_registered",
                resource_type=RESOURCE,
                resource_id=agent.id,
                details={"name": name, "hostname": facts.hostname, "version": facts.version},
            )
        return agent, credential

    async def authenticate(self, credential: str) -> Agent:
        """The agent holding this credential (retired ones too: the route answers 410)."""
        async with self.runtime.db.uow() as uow:
            agent = await uow.agents.by_credential_hash(hash_api_key(credential))
        if agent is None:
            raise AuthenticationRequired("the agent credential is not valid")
        return agent

    async def heartbeat(self, credential: str, agent_id: str, facts: HeartbeatFacts) -> Agent:
        """Authenticate the agent and record that it is alive, with what it says of its host.

        The hot path is one UPDATE, its own transaction (no BEGIN or COMMIT); only when it matched nothing is the
        credential read again, to answer 401, 403 or 410 as every agent route does.
        """
        digest = hash_api_key(credential)
        now = self.runtime.clock.now()
        async with self.runtime.db.single_statement() as uow:
            agent = await uow.agents.heartbeat(
                agent_id=agent_id, credential_hash=digest, facts=facts, now=now
            )
            if agent is None:
                admit(await uow.agents.by_credential_hash(digest), agent_id)
                # Admitted yet not updated: the agent was retired or re-registered meanwhile.
                raise AuthenticationRequired("the agent credential is not valid")
        return agent

    async def poll(self, credential: str, agent_id: str) -> tuple[Agent, bool]:
        """Authenticate the agent → it and whether any job may be due (one statement)."""
        async with self.runtime.db.single_statement() as uow:
            found = await uow.agents.with_work_flag(hash_api_key(credential))
        agent = admit(found[0] if found else None, agent_id)
        return agent, bool(found and found[1])

    async def work(self, caller: Caller, agent: Agent) -> tuple[list[CsrWork], list[DeployWork]]:
        """Lease the agent's due work; a Pending deployment becomes Running as it is handed out."""
        now = self.runtime.clock.now()
        csrs: list[CsrWork] = []
        deploys: list[DeployWork] = []
        async with self.runtime.db.uow() as uow:
            claimed = await uow.jobs.claim_for_agent(
                agent_id=agent.id,
                now=now,
                owner=agent_principal(agent).name,
                lease_until=now + self.lease,
                limit=WORK_BATCH,
            )
            for job in claimed:
                cert = await uow.certificates.require(job.certificate_id)
                if job.type is not JobType.DEPLOYMENT:
                    profile = await certificate_profile(uow, cert)
                    csrs.append(
                        CsrWork(job.id, cert.id, cert.common_name, cert.sans, key_spec_for(profile))
                    )
                    continue
                item = await self.jobs.start_deployment(uow, caller, job, now + self.lease)
                if item is not None:
                    deploys.append(item)
        return csrs, deploys

    async def submit_csr(
        self, caller: Caller, agent: Agent, job_id: str, csr_pem: str
    ) -> CertificateVersion | Job:
        """Issue from the agent's CSR for one of its AwaitingCSR jobs (through the profile).

        A remote CA's order is queued on the job (returned) for the job processor to run.
        """
        async with self.runtime.db.uow() as uow:
            job = await uow.jobs.get(job_id)
        if job is None or job.agent_id != agent.id or job.type is JobType.DEPLOYMENT:
            raise NotFound("job", job_id)
        if job.status is not JobStatus.AWAITING_CSR:
            raise NotFound("job", job_id)
        outcome = await self.jobs.submit_csr(_acting(caller), job.certificate_id, csr_pem)
        if isinstance(outcome, Job):
            return outcome
        return outcome[1]

    async def certificate(self, agent: Agent, cert_id: str) -> CertificateVersion:
        """The current version of a certificate the agent deploys or issues (never a key)."""
        async with self.runtime.db.uow() as uow:
            if not await uow.jobs.for_agent_and_certificate(agent.id, cert_id):
                raise NotFound("certificate", cert_id)
            versions = await uow.versions.for_certificate(cert_id)
        if not versions:
            raise NotFound("certificate", cert_id)
        return versions[0]

    async def report(
        self,
        caller: Caller,
        agent: Agent,
        job_id: str,
        *,
        status: ReportedStatus,
        reason: str | None,
        served_sha256: str | None,
    ) -> Job:
        """Record the agent's report on one of its jobs."""
        return await self.jobs.report(
            caller,
            agent_id=agent.id,
            job_id=job_id,
            status=status,
            reason=reason,
            served_sha256=served_sha256,
        )


def admit(agent: Agent | None, agent_id: str) -> Agent:
    """The agent a credential found, if it may act on `agent_id`'s path: 401, 403, else 410."""
    if agent is None:
        raise AuthenticationRequired("the agent credential is not valid")
    if agent.id != agent_id:
        raise PermissionDenied("this credential belongs to another agent")
    if agent.retired_at is not None:
        raise Gone(f"agent {agent.id!r} is retired: {agent.retired_reason or 'no reason given'}")
    return agent


def _with_facts(agent: Agent, facts: HeartbeatFacts, now: datetime) -> Agent:
    """The agent alive now, with what it says about its host."""
    return dataclasses.replace(
        agent,
        version=facts.version,
        hostname=facts.hostname,
        os=facts.os,
        arch=facts.arch,
        addresses=facts.addresses,
        ip_address=facts.addresses[0] if facts.addresses else "",
        status=AgentStatus.ONLINE,
        last_heartbeat_at=now,
        updated_at=now,
    )
