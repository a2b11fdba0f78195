"""Jobs: issuance, renewal and deployment work items, their state machine and approvals (C5)."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from certctl.errors import Conflict, InvalidRequest, PermissionDenied


class JobType(enum.StrEnum):
    """What a job does."""

    ISSUANCE = "Issuance"
    RENEWAL = "Renewal"
    DEPLOYMENT = "Deployment"
    VALIDATION = "Validation"


class JobStatus(enum.StrEnum):
    """Where a job is in its life (TitleCase on the wire)."""

    PENDING = "Pending"
    AWAITING_CSR = "AwaitingCSR"
    AWAITING_APPROVAL = "AwaitingApproval"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


J = JobStatus
TERMINAL = frozenset({J.COMPLETED, J.FAILED, J.CANCELLED})
OPEN = frozenset(set(J) - TERMINAL)
# Jobs that issue a certificate: at most one of them is open per certificate.
ISSUING = frozenset({JobType.ISSUANCE, JobType.RENEWAL})

TRANSITIONS: Mapping[JobStatus, frozenset[JobStatus]] = {
    # Pending -> Completed: a CSR submitted before the processor picked the job up.
    J.PENDING: frozenset({J.RUNNING, J.AWAITING_APPROVAL, J.COMPLETED, J.CANCELLED, J.FAILED}),
    J.AWAITING_APPROVAL: frozenset({J.PENDING, J.CANCELLED, J.FAILED}),
    # Running -> Pending is a retry after a failed attempt or a reclaimed lease.
    J.RUNNING: frozenset({J.AWAITING_CSR, J.COMPLETED, J.FAILED, J.PENDING, J.CANCELLED}),
    # AwaitingCSR -> Pending: a CSR for a remote CA, whose order the processor runs.
    J.AWAITING_CSR: frozenset({J.PENDING, J.RUNNING, J.COMPLETED, J.CANCELLED, J.FAILED}),
    J.COMPLETED: frozenset(),
    J.FAILED: frozenset(),
    J.CANCELLED: frozenset(),
}

AWAITING_CSR_TIMEOUT = timedelta(hours=24)
AWAITING_APPROVAL_TIMEOUT = timedelta(hours=168)
DEFAULT_LEASE = timedelta(minutes=5)
BULK_LIMIT = 5000
"""Most certificates one bulk operation covers."""
MAX_BACKOFF = timedelta(hours=24)
WAIT_TIMEOUTS: Mapping[JobStatus, timedelta] = {
    J.AWAITING_CSR: AWAITING_CSR_TIMEOUT,
    J.AWAITING_APPROVAL: AWAITING_APPROVAL_TIMEOUT,
}


@dataclass(frozen=True)
class Job:
    """One unit of work on one certificate."""

    id: str
    type: JobType
    certificate_id: str
    status: JobStatus
    created_at: datetime
    updated_at: datetime
    status_changed_at: datetime
    scheduled_at: datetime
    requested_by: str
    target_id: str | None = None
    agent_id: str | None = None
    attempts: int = 0
    max_attempts: int = 4
    retry_interval_seconds: int = 3600
    last_error: str | None = None
    approved_by: str | None = None
    decision_reason: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    order_state: Mapping[str, object] | None = None
    """A long-running order's progress (ACME order URL, CSR): a later attempt resumes it."""

    @property
    def is_open(self) -> bool:
        """Not yet Completed, Failed or Cancelled."""
        return self.status in OPEN


def can_transition(current: JobStatus, wanted: JobStatus) -> bool:
    """Tell whether the state machine allows `current` -> `wanted`."""
    return wanted in TRANSITIONS[current]


def transition(job: Job, wanted: JobStatus, now: datetime, **changes: object) -> Job:
    """The job moved to `wanted` (with other field changes); a forbidden move is a Conflict."""
    if not can_transition(job.status, wanted):
        raise Conflict(f"job is {job.status.value}; it cannot become {wanted.value}")
    return dataclasses.replace(
        job,
        status=wanted,
        updated_at=now,
        status_changed_at=now,
        **changes,  # type: ignore[arg-type]
    )


def backoff(attempts: int, interval_seconds: int) -> timedelta:
    """Delay before the next attempt: the interval doubled per failed attempt, at most 24 h."""
    exponent = max(0, attempts - 1)
    seconds = interval_seconds * (2 ** min(exponent, 20))
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


def after_failed_attempt(job: Job, error: str, now: datetime) -> Job:
    """A Running job whose attempt failed: Pending again after a backoff, or Failed at the cap."""
    error = error[:2000]
    if job.attempts >= job.max_attempts:
        return transition(
            job,
            J.FAILED,
            now,
            last_error=f"{error} (gave up after {job.attempts} attempts)",
            completed_at=now,
            lease_owner=None,
            lease_expires_at=None,
        )
    return transition(
        job,
        J.PENDING,
        now,
        last_error=error,
        scheduled_at=now + backoff(job.attempts, job.retry_interval_seconds),
        lease_owner=None,
        lease_expires_at=None,
    )


def timed_out(job: Job, now: datetime) -> bool:
    """Tell whether a job has waited for a CSR or an approval longer than allowed."""
    limit = WAIT_TIMEOUTS.get(job.status)
    return limit is not None and now - job.status_changed_at > limit


def timeout_reason(job: Job) -> str:
    """Why a waiting job failed."""
    limit = WAIT_TIMEOUTS[job.status]
    hours = int(limit.total_seconds() // 3600)
    waiting_for = "a CSR" if job.status is J.AWAITING_CSR else "an approval"
    return f"timed out after {hours} h waiting for {waiting_for}"


def check_decider(job: Job, decider: str, owner_identities: frozenset[str]) -> None:
    """Four-eyes rule: neither the requester nor the certificate's owner may approve."""
    name = decider.strip().lower()
    if name == job.requested_by.strip().lower():
        raise PermissionDenied("the requester of a job cannot approve it")
    if name in {o.strip().lower() for o in owner_identities if o}:
        raise PermissionDenied("the owner of the certificate cannot approve its job")


def check_reason(reason: str | None, *, required: bool) -> str | None:
    """A decision reason: trimmed, at most 1000 characters, required for a rejection."""
    text = (reason or "").strip()
    if required and not text:
        raise InvalidRequest("a reason is required", field="reason")
    if len(text) > 1000:
        raise InvalidRequest("reason must be at most 1000 characters", field="reason")
    return text or None


@dataclass(frozen=True)
class JobFilter:
    """Criteria of a job listing; unset fields do not filter."""

    status: JobStatus | None = None
    type: JobType | None = None
    certificate_id: str | None = None
    agent_id: str | None = None


@dataclass(frozen=True)
class BulkResult:
    """Summary of a bulk operation over certificates matched by criteria."""

    total_matched: int = 0
    total_enqueued: int = 0
    total_skipped: int = 0
    total_failed: int = 0
    errors: tuple[tuple[str, str], ...] = ()


def require_status(job: Job, wanted: JobStatus, verb: str) -> None:
    """Refuse a decision on a job that is not in the status the decision needs."""
    if job.status is not wanted:
        raise Conflict(f"job is {job.status.value}; only a job {wanted.value} can be {verb}")


def still_mine(job: Job | None, owner: str) -> bool:
    """Tell whether this worker still holds the job's lease (not cancelled, not reclaimed)."""
    return job is not None and job.status is JobStatus.RUNNING and job.lease_owner == owner
