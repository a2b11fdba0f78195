"""Certificate statuses, the manual transition table and expiry-implied status (C1)."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from certctl.domain.certificates import (
    CertificateFilter,
    CertificateSource,
    CertificateStatus,
    ManagedCertificate,
    check_archivable,
    check_status_change,
    status_for_expiry,
)
from certctl.errors import Conflict

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
S = CertificateStatus
LIFECYCLE = [S.PENDING, S.ACTIVE, S.EXPIRING, S.EXPIRED, S.RENEWAL_IN_PROGRESS, S.FAILED]

# The manual edits the lifecycle allows, written out independently of the source table.
ALLOWED = [
    (S.PENDING, S.ACTIVE),
    (S.PENDING, S.RENEWAL_IN_PROGRESS),
    (S.PENDING, S.FAILED),
    (S.ACTIVE, S.EXPIRING),
    (S.ACTIVE, S.EXPIRED),
    (S.ACTIVE, S.RENEWAL_IN_PROGRESS),
    (S.ACTIVE, S.FAILED),
    (S.EXPIRING, S.ACTIVE),
    (S.EXPIRING, S.EXPIRED),
    (S.EXPIRING, S.RENEWAL_IN_PROGRESS),
    (S.EXPIRING, S.FAILED),
    (S.EXPIRED, S.RENEWAL_IN_PROGRESS),
    (S.EXPIRED, S.FAILED),
    (S.RENEWAL_IN_PROGRESS, S.ACTIVE),
    (S.RENEWAL_IN_PROGRESS, S.EXPIRING),
    (S.RENEWAL_IN_PROGRESS, S.EXPIRED),
    (S.RENEWAL_IN_PROGRESS, S.FAILED),
    (S.FAILED, S.PENDING),
    (S.FAILED, S.RENEWAL_IN_PROGRESS),
    (S.FAILED, S.EXPIRING),
    (S.FAILED, S.EXPIRED),
]
UNCHANGED = [(s, s) for s in S]
FROM_ARCHIVED = [(S.ARCHIVED, s) for s in S if s is not S.ARCHIVED]
TO_REVOKED = [(s, S.REVOKED) for s in LIFECYCLE]
TO_ARCHIVED = [(s, S.ARCHIVED) for s in [*LIFECYCLE, S.REVOKED]]
FROM_REVOKED = [(S.REVOKED, s) for s in LIFECYCLE]
FORBIDDEN = [(a, b) for a, b in itertools.permutations(LIFECYCLE, 2) if (a, b) not in set(ALLOWED)]


def test_transition_cases_partition_every_status_pair() -> None:
    """The case lists below cover each of the 64 (current, wanted) pairs exactly once."""
    cases = ALLOWED + UNCHANGED + FROM_ARCHIVED + TO_REVOKED + TO_ARCHIVED + FROM_REVOKED
    cases += FORBIDDEN
    assert (len(cases), set(cases)) == (64, set(itertools.product(S, S)))


def test_status_wire_values_are_title_case() -> None:
    """Statuses are spelled in TitleCase on the wire, in lifecycle order."""
    assert [s.value for s in S] == [
        "Pending",
        "Active",
        "Expiring",
        "Expired",
        "RenewalInProgress",
        "Failed",
        "Revoked",
        "Archived",
    ]


def test_source_values() -> None:
    """Sources are exactly manual, import, issued and discovery."""
    assert [s.value for s in CertificateSource] == ["manual", "import", "issued", "discovery"]


@pytest.mark.parametrize(("current", "wanted"), ALLOWED)
def test_allowed_transition_passes(current: S, wanted: S) -> None:
    """A transition listed in the lifecycle table is accepted."""
    assert check_status_change(current, wanted) is None


@pytest.mark.parametrize(("current", "wanted"), UNCHANGED)
def test_unchanged_status_passes(current: S, wanted: S) -> None:
    """Setting a status to its current value is a no-op, even for Revoked and Archived."""
    assert check_status_change(current, wanted) is None


@pytest.mark.parametrize(("current", "wanted"), FROM_ARCHIVED)
def test_archived_certificate_cannot_change(current: S, wanted: S) -> None:
    """An archived certificate refuses every other status."""
    with pytest.raises(Conflict) as caught:
        check_status_change(current, wanted)
    assert caught.value.detail == "certificate is archived; archived certificates cannot change"


@pytest.mark.parametrize(("current", "wanted"), TO_REVOKED)
def test_revoked_is_set_only_by_revoking(current: S, wanted: S) -> None:
    """A status edit to Revoked is refused, pointing at the revoke action."""
    with pytest.raises(Conflict) as caught:
        check_status_change(current, wanted)
    assert caught.value.detail == "status Revoked is set only by revoking the certificate"


@pytest.mark.parametrize(("current", "wanted"), TO_ARCHIVED)
def test_archived_is_set_only_by_deleting(current: S, wanted: S) -> None:
    """A status edit to Archived is refused, pointing at delete."""
    with pytest.raises(Conflict) as caught:
        check_status_change(current, wanted)
    assert caught.value.detail == "status Archived is set only by deleting the certificate"


@pytest.mark.parametrize(("current", "wanted"), FROM_REVOKED + FORBIDDEN)
def test_forbidden_transition_names_both_statuses(current: S, wanted: S) -> None:
    """A transition outside the table is a Conflict naming both statuses."""
    with pytest.raises(Conflict) as caught:
        check_status_change(current, wanted)
    assert caught.value.detail == f"status cannot change from {current.value} to {wanted.value}"


@pytest.mark.parametrize("current", [s for s in S if s is not S.ARCHIVED])
def test_non_archived_certificate_is_archivable(current: S) -> None:
    """Any status but Archived may be archived."""
    assert check_archivable(current) is None


def test_archived_certificate_is_not_archivable_twice() -> None:
    """Archiving an archived certificate is a Conflict."""
    with pytest.raises(Conflict) as caught:
        check_archivable(S.ARCHIVED)
    assert caught.value.detail == "certificate is already archived"


@pytest.mark.parametrize(
    ("expires_at", "window_days", "expected"),
    [
        (NOW - timedelta(days=400), 30, S.EXPIRED),
        (NOW - timedelta(seconds=1), 30, S.EXPIRED),
        (NOW, 30, S.EXPIRED),
        (NOW + timedelta(microseconds=1), 30, S.EXPIRING),
        (NOW + timedelta(days=30), 30, S.EXPIRING),
        (NOW + timedelta(days=30, microseconds=1), 30, S.ACTIVE),
        (NOW + timedelta(days=365), 30, S.ACTIVE),
        (NOW + timedelta(seconds=1), 0, S.ACTIVE),
        (NOW + timedelta(days=90), 90, S.EXPIRING),
    ],
)
def test_status_for_expiry(expires_at: datetime, window_days: int, expected: S) -> None:
    """Expired at or after expiry, Expiring within the window (inclusive), else Active."""
    assert status_for_expiry(expires_at, NOW, window_days) is expected


def test_managed_certificate_defaults() -> None:
    """A new managed certificate is Pending, manual, untagged and unrevoked."""
    cert = ManagedCertificate(
        id="mc-api", name="api", common_name="api.example.com", created_at=NOW, updated_at=NOW
    )
    assert (cert.status, cert.source, cert.tags, cert.sans, cert.revoked_at) == (
        S.PENDING,
        CertificateSource.MANUAL,
        {},
        (),
        None,
    )


def test_managed_certificate_is_immutable() -> None:
    """ManagedCertificate is a frozen value object."""
    cert = ManagedCertificate(
        id="mc-api", name="api", common_name="api.example.com", created_at=NOW, updated_at=NOW
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        cert.status = S.ACTIVE  # type: ignore[misc]


def test_certificate_filter_defaults_filter_nothing() -> None:
    """An empty filter has no criteria and excludes archived certificates."""
    assert CertificateFilter() == CertificateFilter(
        statuses=(),
        environment=None,
        owner_id=None,
        team_id=None,
        issuer_id=None,
        renewal_policy_id=None,
        certificate_profile_id=None,
        source=None,
        expires_before=None,
        expires_after=None,
        q=None,
        include_archived=False,
    )
