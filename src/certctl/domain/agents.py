"""Agent protocol rules: credentials, liveness, heartbeat facts and job reports (C5, C7)."""

from __future__ import annotations

import enum
import hmac
import ipaddress
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from certctl.domain.inventory import Agent, AgentStatus, DeploymentTarget
from certctl.domain.jobs import Job, JobStatus, JobType
from certctl.errors import AuthenticationRequired, Conflict, InvalidRequest, PermissionDenied

AGENT_CREDENTIAL_PREFIX = "cca_"
HEARTBEAT_INTERVAL = timedelta(seconds=60)
MISSED_HEARTBEATS = 3
"""An agent that missed this many heartbeats in a row is Offline."""
OFFLINE_JOB_TIMEOUT = timedelta(minutes=5)
"""A Running job whose agent has been silent this long fails (C5)."""
MAX_ADDRESSES = 64
_FACT_LIMITS = {"version": 64, "hostname": 255, "os": 64, "arch": 64}
_PEM_END = "-----END CERTIFICATE-----"


class ReportedStatus(enum.StrEnum):
    """What an agent may say about a job it holds."""

    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"


@dataclass(frozen=True)
class HeartbeatFacts:
    """What an agent says about itself; validated at construction."""

    version: str = ""
    hostname: str = ""
    os: str = ""
    arch: str = ""
    addresses: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name, limit in _FACT_LIMITS.items():
            value = getattr(self, name)
            if len(value) > limit or not value.isprintable():
                raise InvalidRequest(
                    f"{name} must be printable and at most {limit} characters", field=name
                )
        if len(self.addresses) > MAX_ADDRESSES:
            raise InvalidRequest(f"at most {MAX_ADDRESSES} addresses", field="addresses")
        for index, address in enumerate(self.addresses):
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise InvalidRequest(
                    f"{address!r} is not an IP address", field=f"addresses[{index}]"
                ) from None


@dataclass(frozen=True)
class CsrWork:
    """An issuing job waiting for the agent's key and CSR."""

    job_id: str
    certificate_id: str
    common_name: str
    sans: tuple[str, ...]
    key_spec: str


@dataclass(frozen=True)
class DeployWork:
    """A deployment job: put the certificate's current version on one target."""

    job_id: str
    certificate_id: str
    version_id: str
    fingerprint_sha256: str
    target_id: str
    target_type: str
    target_config: Mapping[str, Any]


def generate_credential() -> str:
    """A new agent credential (256 bits, URL-safe); only its hash is stored."""
    return AGENT_CREDENTIAL_PREFIX + secrets.token_urlsafe(32)


def check_bootstrap_token(presented: str | None, configured: str | None, *, demo: bool) -> None:
    """Refuse a registration without the bootstrap token (open only in demo mode without one)."""
    if configured is None and demo:
        return
    if presented is None:
        raise AuthenticationRequired("send the bootstrap token as 'Authorization: Bearer …'")
    if configured is None:
        raise PermissionDenied(
            "agent registration is closed: the server has no CERTCTL_AGENT_BOOTSTRAP_TOKEN"
        )
    # Compared in constant time so the token cannot be guessed byte by byte.
    if not hmac.compare_digest(presented.encode(), configured.encode()):
        raise AuthenticationRequired("the bootstrap token is not valid")


def check_agent_name(name: str) -> str:
    """A usable agent name: 1 to 200 printable characters, trimmed."""
    text = name.strip()
    if not text or len(text) > 200 or not text.isprintable():
        raise InvalidRequest("name must be 1 to 200 printable characters", field="name")
    return text


def check_reregistration(existing: Agent, hostname: str) -> None:
    """The same name registers again only from the same host (its credential is replaced)."""
    if existing.hostname != hostname:
        raise Conflict(
            f"agent name {existing.name!r} is registered from host {existing.hostname!r}; "
            "retire it first or choose another name"
        )


def liveness(last_heartbeat_at: datetime | None, now: datetime) -> AgentStatus:
    """Online while heartbeats arrive; Offline after MISSED_HEARTBEATS missed in a row."""
    if last_heartbeat_at is None:
        return AgentStatus.OFFLINE
    silent = now - last_heartbeat_at
    return (
        AgentStatus.ONLINE
        if silent <= HEARTBEAT_INTERVAL * MISSED_HEARTBEATS
        else AgentStatus.OFFLINE
    )


def offline_too_long(last_heartbeat_at: datetime | None, now: datetime) -> bool:
    """Tell whether an agent has been silent longer than OFFLINE_JOB_TIMEOUT."""
    return last_heartbeat_at is None or now - last_heartbeat_at > OFFLINE_JOB_TIMEOUT


def owning_agent(targets: Sequence[DeploymentTarget]) -> str | None:
    """The agent that makes the key: that of the certificate's first enabled target with one."""
    for target in targets:
        if target.enabled and target.agent_id:
            return target.agent_id
    return None


def check_report(job: Job, status: ReportedStatus, reason: str | None) -> str | None:
    """Check an agent's report on a job it holds; return the trimmed reason."""
    text = (reason or "").strip()[:2000] or None
    if not job.is_open:
        raise Conflict(f"job is {job.status.value}; it takes no more reports")
    if status is ReportedStatus.FAILED and text is None:
        raise InvalidRequest("a failure needs a reason", field="reason")
    if status is not ReportedStatus.FAILED and job.type is not JobType.DEPLOYMENT:
        raise Conflict(f"a {job.type.value} job completes when its CSR is issued")
    if status is ReportedStatus.COMPLETED and job.status is not JobStatus.RUNNING:
        raise Conflict(f"job is {job.status.value}; only a Running job can be completed")
    return text


def split_leaf(pem_chain: str) -> tuple[str, str]:
    """The leaf certificate's PEM and the rest of the chain (possibly empty)."""
    end = pem_chain.find(_PEM_END)
    if end < 0:
        return pem_chain, ""
    cut = end + len(_PEM_END)
    rest = pem_chain[cut:].strip()
    return pem_chain[:cut].strip() + "\n", rest + "\n" if rest else ""


POLL_INTERVAL = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=5)


def failure_delay(failures: int) -> timedelta:
    """How long an agent waits after `failures` failed calls in a row: 30 s doubled, ≤ 5 min."""
    if failures <= 0:
        return POLL_INTERVAL
    return min(MAX_BACKOFF, POLL_INTERVAL * (1 << min(failures, 16)))
