"""Agent protocol rules: bootstrap token, names, liveness, ownership, reports, PEM split."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from certctl.domain.agents import (
    AGENT_CREDENTIAL_PREFIX,
    HeartbeatFacts,
    ReportedStatus,
    check_agent_name,
    check_bootstrap_token,
    check_report,
    check_reregistration,
    failure_delay,
    generate_credential,
    liveness,
    offline_too_long,
    owning_agent,
    split_leaf,
)
from certctl.domain.inventory import Agent, AgentStatus, DeploymentTarget, TargetType
from certctl.domain.jobs import Job, JobStatus, JobType
from certctl.errors import AuthenticationRequired, Conflict, InvalidRequest, PermissionDenied

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
TOKEN = "bootstrap-token-0123456789"


def test_a_credential_is_prefixed_and_random() -> None:
    """Two credentials differ and both carry the agent prefix."""
    first, second = generate_credential(), generate_credential()
    assert first != second
    assert first.startswith(AGENT_CREDENTIAL_PREFIX)
    assert len(first) == 47


def test_the_right_bootstrap_token_registers() -> None:
    """A matching token passes."""
    assert check_bootstrap_token(TOKEN, TOKEN, demo=False) is None


def test_demo_mode_without_a_token_registers_anyone() -> None:
    """Registration is open only in demo mode with no token configured."""
    assert check_bootstrap_token(None, None, demo=True) is None


@pytest.mark.parametrize(
    ("presented", "configured", "demo", "error"),
    [
        (None, TOKEN, False, AuthenticationRequired),
        (None, None, False, AuthenticationRequired),
        ("wrong-token", TOKEN, False, AuthenticationRequired),
        ("wrong-token", TOKEN, True, AuthenticationRequired),
        ("any-token", None, False, PermissionDenied),
    ],
)
def test_a_missing_or_wrong_token_is_refused(
    presented: str | None, configured: str | None, demo: bool, error: type[Exception]
) -> None:
    """No token or a wrong one is 401; a server without a token outside demo is closed (403)."""
    with pytest.raises(error):
        check_bootstrap_token(presented, configured, demo=demo)


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, "tab\there"])
def test_an_unusable_agent_name_is_refused(name: str) -> None:
    """Empty, too long or non-printable names are a 400 on name."""
    with pytest.raises(InvalidRequest) as caught:
        check_agent_name(name)
    assert caught.value.field == "name"


def test_an_agent_name_is_trimmed() -> None:
    """Surrounding spaces go."""
    assert check_agent_name("  web-01 ") == "web-01"


def agent(hostname: str = "web-01.example") -> Agent:
    """A registered agent."""
    return Agent(id="agent-1", name="web-01", created_at=NOW, updated_at=NOW, hostname=hostname)


def test_the_same_name_registers_again_from_the_same_host() -> None:
    """Same host: allowed (the credential is replaced)."""
    assert check_reregistration(agent(), "web-01.example") is None


def test_the_same_name_from_another_host_is_a_conflict() -> None:
    """Another host: 409 naming the registered host."""
    with pytest.raises(Conflict) as caught:
        check_reregistration(agent(), "db-01.example")
    assert "'web-01.example'" in caught.value.detail


@pytest.mark.parametrize(
    ("silent", "expected"),
    [
        (None, AgentStatus.OFFLINE),
        (timedelta(seconds=0), AgentStatus.ONLINE),
        (timedelta(seconds=180), AgentStatus.ONLINE),
        (timedelta(seconds=181), AgentStatus.OFFLINE),
    ],
)
def test_an_agent_is_offline_after_three_missed_heartbeats(
    silent: timedelta | None, expected: AgentStatus
) -> None:
    """3 x 60 s of silence is still Online; one second more is Offline."""
    last = None if silent is None else NOW - silent
    assert liveness(last, NOW) is expected


@pytest.mark.parametrize(
    ("silent", "expected"),
    [(None, True), (timedelta(minutes=5), False), (timedelta(minutes=5, seconds=1), True)],
)
def test_a_job_times_out_after_five_minutes_of_agent_silence(
    silent: timedelta | None, expected: bool
) -> None:
    """Exactly 5 minutes is not yet too long."""
    last = None if silent is None else NOW - silent
    assert offline_too_long(last, NOW) is expected


def target(target_id: str, agent_id: str | None, enabled: bool = True) -> DeploymentTarget:
    """A deployment target."""
    return DeploymentTarget(
        id=target_id,
        name=target_id,
        type=TargetType.NGINX,
        created_at=NOW,
        updated_at=NOW,
        agent_id=agent_id,
        enabled=enabled,
    )


def test_the_first_enabled_target_with_an_agent_owns_the_key() -> None:
    """Disabled targets and targets without an agent are passed over."""
    targets = [target("t1", "agent-x", enabled=False), target("t2", None), target("t3", "agent-y")]
    assert owning_agent(targets) == "agent-y"
    assert owning_agent([target("t1", None)]) is None


def job(status: JobStatus, job_type: JobType = JobType.DEPLOYMENT) -> Job:
    """A job of the agent."""
    return Job(
        id="job-1",
        type=job_type,
        certificate_id="mc-1",
        status=status,
        created_at=NOW,
        updated_at=NOW,
        status_changed_at=NOW,
        scheduled_at=NOW,
        requested_by="system",
        agent_id="agent-1",
    )


def test_a_completed_report_on_a_running_deployment_is_accepted() -> None:
    """The reason is trimmed; none stays None."""
    assert check_report(job(JobStatus.RUNNING), ReportedStatus.COMPLETED, None) is None
    assert check_report(job(JobStatus.RUNNING), ReportedStatus.FAILED, " boom ") == "boom"


@pytest.mark.parametrize(
    ("candidate", "status", "reason", "error"),
    [
        (job(JobStatus.COMPLETED), ReportedStatus.FAILED, "late", Conflict),
        (job(JobStatus.RUNNING), ReportedStatus.FAILED, "  ", InvalidRequest),
        (job(JobStatus.AWAITING_CSR, JobType.RENEWAL), ReportedStatus.COMPLETED, None, Conflict),
        (job(JobStatus.PENDING), ReportedStatus.COMPLETED, None, Conflict),
    ],
)
def test_an_impossible_report_is_refused(
    candidate: Job, status: ReportedStatus, reason: str | None, error: type[Exception]
) -> None:
    """Closed jobs, failures without a reason, and completions that skip a step are refused."""
    with pytest.raises(error):
        check_report(candidate, status, reason)


def test_a_failure_on_an_awaiting_csr_job_is_accepted() -> None:
    """An agent that cannot make the key says why."""
    check = check_report(job(JobStatus.AWAITING_CSR, JobType.RENEWAL), ReportedStatus.FAILED, "x")
    assert check == "x"


def test_the_leaf_is_split_from_its_chain() -> None:
    """First block, then the rest; a lone leaf has an empty chain; no marker keeps the text."""
    leaf = "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----"
    ca = "-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----"
    assert split_leaf(f"{leaf}\n{ca}\n") == (leaf + "\n", ca + "\n")
    assert split_leaf(leaf) == (leaf + "\n", "")
    assert split_leaf("garbage") == ("garbage", "")


def test_heartbeat_facts_are_checked() -> None:
    """Valid facts pass; a bad address names its index; too many addresses or long fields fail."""
    facts = HeartbeatFacts(version="1.0", hostname="h", addresses=("10.0.0.1", "::1"))
    assert facts.addresses == ("10.0.0.1", "::1")
    with pytest.raises(InvalidRequest) as caught:
        HeartbeatFacts(addresses=("10.0.0.1", "nope"))
    assert caught.value.field == "addresses[1]"
    with pytest.raises(InvalidRequest) as caught:
        HeartbeatFacts(addresses=("10.0.0.1",) * 65)
    assert caught.value.field == "addresses"
    with pytest.raises(InvalidRequest) as caught:
        HeartbeatFacts(os="x" * 65)
    assert caught.value.field == "os"


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(0, 30), (1, 60), (2, 120), (3, 240), (4, 300), (5, 300), (100, 300)],
)
def test_the_failure_delay_doubles_up_to_five_minutes(failures: int, seconds: int) -> None:
    """30 s without failures, then 60, 120, 240 and 300 s at most."""
    assert failure_delay(failures) == timedelta(seconds=seconds)
