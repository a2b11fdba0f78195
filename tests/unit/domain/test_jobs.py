"""The job state machine, backoff, timeouts and the four-eyes rule."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from certctl.domain.jobs import (
    OPEN,
    TERMINAL,
    Job,
    JobStatus,
    JobType,
    after_failed_attempt,
    backoff,
    can_transition,
    check_decider,
    check_reason,
    require_status,
    still_mine,
    timed_out,
    timeout_reason,
    transition,
)
from certctl.errors import Conflict, InvalidRequest, PermissionDenied

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
J = JobStatus
ALLOWED = {
    (J.PENDING, J.RUNNING),
    (J.PENDING, J.AWAITING_APPROVAL),
    (J.PENDING, J.COMPLETED),
    (J.PENDING, J.CANCELLED),
    (J.PENDING, J.FAILED),
    (J.AWAITING_APPROVAL, J.PENDING),
    (J.AWAITING_APPROVAL, J.CANCELLED),
    (J.AWAITING_APPROVAL, J.FAILED),
    (J.RUNNING, J.AWAITING_CSR),
    (J.RUNNING, J.COMPLETED),
    (J.RUNNING, J.FAILED),
    (J.RUNNING, J.PENDING),
    (J.RUNNING, J.CANCELLED),
    (J.AWAITING_CSR, J.PENDING),
    (J.AWAITING_CSR, J.RUNNING),
    (J.AWAITING_CSR, J.COMPLETED),
    (J.AWAITING_CSR, J.CANCELLED),
    (J.AWAITING_CSR, J.FAILED),
}


def job(status: JobStatus = J.RUNNING, **fields: object) -> Job:
    """A renewal job in `status`."""
    values: dict[str, object] = {
        "id": "job-1",
        "type": JobType.RENEWAL,
        "certificate_id": "mc-1",
        "status": status,
        "created_at": NOW,
        "updated_at": NOW,
        "status_changed_at": NOW,
        "scheduled_at": NOW,
        "requested_by": "alice",
        **fields,
    }
    return Job(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("current", "wanted"), list(itertools.product(J, J)))
def test_every_pair_of_statuses_follows_the_table(current: JobStatus, wanted: JobStatus) -> None:
    """Exactly the listed moves are allowed; every other one is a Conflict naming both ends."""
    allowed = (current, wanted) in ALLOWED
    assert can_transition(current, wanted) is allowed
    if allowed:
        moved = transition(job(current), wanted, NOW + timedelta(minutes=1))
        assert (moved.status, moved.status_changed_at) == (wanted, NOW + timedelta(minutes=1))
    else:
        with pytest.raises(Conflict) as caught:
            transition(job(current), wanted, NOW)
        assert caught.value.detail == f"job is {current.value}; it cannot become {wanted.value}"


def test_open_and_terminal_partition_the_statuses() -> None:
    """Completed, Failed and Cancelled are final; the four others are open."""
    assert {J.COMPLETED, J.FAILED, J.CANCELLED} == TERMINAL
    assert set(J) == OPEN | TERMINAL
    assert job(J.AWAITING_CSR).is_open
    assert not job(J.FAILED).is_open


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [(0, 60), (1, 60), (2, 120), (3, 240), (11, 61440), (12, 86400), (40, 86400)],
)
def test_backoff_doubles_per_attempt_up_to_a_day(attempts: int, expected: int) -> None:
    """interval x 2^(attempts-1), capped at 24 h."""
    assert backoff(attempts, 60) == timedelta(seconds=expected)


def test_a_failed_attempt_with_attempts_left_is_rescheduled() -> None:
    """Back to Pending, scheduled after the backoff, lease released, error kept."""
    after = after_failed_attempt(
        job(attempts=2, max_attempts=4, retry_interval_seconds=100, lease_owner="w"), "boom", NOW
    )
    assert (after.status, after.scheduled_at) == (J.PENDING, NOW + timedelta(seconds=200))
    assert (after.last_error, after.lease_owner, after.lease_expires_at) == ("boom", None, None)


def test_the_last_failed_attempt_fails_the_job() -> None:
    """At max_attempts the job is Failed, with the count in the error."""
    after = after_failed_attempt(job(attempts=4, max_attempts=4), "x" * 3000, NOW)
    assert (after.status, after.completed_at) == (J.FAILED, NOW)
    assert after.last_error == "x" * 2000 + " (gave up after 4 attempts)"


@pytest.mark.parametrize(
    ("status", "waited", "expected"),
    [
        (J.AWAITING_CSR, timedelta(hours=24), False),
        (J.AWAITING_CSR, timedelta(hours=24, microseconds=1), True),
        (J.AWAITING_APPROVAL, timedelta(hours=168), False),
        (J.AWAITING_APPROVAL, timedelta(hours=168, seconds=1), True),
        (J.PENDING, timedelta(days=365), False),
    ],
)
def test_waiting_jobs_time_out(status: JobStatus, waited: timedelta, expected: bool) -> None:
    """24 h for a CSR, 168 h for an approval; other statuses never time out here."""
    assert timed_out(job(status), NOW + waited) is expected


def test_timeout_reasons_name_what_was_awaited() -> None:
    """The reason says how long and for what."""
    assert timeout_reason(job(J.AWAITING_CSR)) == "timed out after 24 h waiting for a CSR"
    assert (
        timeout_reason(job(J.AWAITING_APPROVAL)) == "timed out after 168 h waiting for an approval"
    )


@pytest.mark.parametrize(
    ("decider", "message"),
    [
        ("Alice", "the requester of a job cannot approve it"),
        ("bob@example.com", "the owner of the certificate cannot approve its job"),
        ("Bob", "the owner of the certificate cannot approve its job"),
    ],
)
def test_requester_and_owner_cannot_decide(decider: str, message: str) -> None:
    """Names compare case-insensitively; the owner is known by name or email."""
    with pytest.raises(PermissionDenied) as caught:
        check_decider(job(requested_by="alice"), decider, frozenset({"bob", "Bob@Example.com"}))
    assert caught.value.detail == message


def test_someone_else_may_decide() -> None:
    """A third person passes the four-eyes rule."""
    check_decider(job(requested_by="alice"), "carol", frozenset({"bob", ""}))


def test_reasons_are_trimmed_bounded_and_required_for_rejection() -> None:
    """Blank is None (or 400 when required); over 1000 characters is 400."""
    assert check_reason("  ok  ", required=True) == "ok"
    assert check_reason(None, required=False) is None
    with pytest.raises(InvalidRequest) as missing:
        check_reason("   ", required=True)
    assert (missing.value.field, missing.value.detail) == ("reason", "a reason is required")
    with pytest.raises(InvalidRequest) as long:
        check_reason("r" * 1001, required=False)
    assert long.value.detail == "reason must be at most 1000 characters"


def test_a_decision_needs_the_status_it_applies_to() -> None:
    """Approving a Running job is a Conflict naming both statuses."""
    with pytest.raises(Conflict) as caught:
        require_status(job(J.RUNNING), J.AWAITING_APPROVAL, "approved")
    assert caught.value.detail == "job is Running; only a job AwaitingApproval can be approved"
    assert require_status(job(J.AWAITING_APPROVAL), J.AWAITING_APPROVAL, "approved") is None


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        (job(J.RUNNING, lease_owner="node-a"), True),
        (job(J.RUNNING, lease_owner="node-b"), False),
        (job(J.CANCELLED, lease_owner="node-a"), False),
        (None, False),
    ],
)
def test_a_worker_still_holds_only_its_own_running_job(
    candidate: Job | None, expected: bool
) -> None:
    """Reclaimed, cancelled or vanished jobs are no longer the worker's."""
    assert still_mine(candidate, "node-a") is expected
