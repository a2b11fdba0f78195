"""Renewal rules: due dates, renewability and the key a profile asks for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from certctl.domain.certificates import CertificateStatus, ManagedCertificate
from certctl.domain.policies import CertificateProfile, KeyAlgorithmRule, RenewalPolicy
from certctl.domain.renewal import check_renewable, key_spec_for, renewal_due
from certctl.errors import Conflict, InvalidRequest

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def profile(*rules: KeyAlgorithmRule) -> CertificateProfile:
    """A profile allowing exactly `rules`."""
    return CertificateProfile(
        id="cp-1", name="tls", created_at=NOW, updated_at=NOW, allowed_key_algorithms=rules
    )


def policy(**fields: object) -> RenewalPolicy:
    """A renewal policy with `fields` changed."""
    return RenewalPolicy(id="rp-1", name="p", created_at=NOW, updated_at=NOW, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ((KeyAlgorithmRule("ECDSA", 256),), "ECDSA-P256"),
        ((KeyAlgorithmRule("ECDSA", 0),), "ECDSA-P256"),
        ((KeyAlgorithmRule("ECDSA", 384),), "ECDSA-P384"),
        ((KeyAlgorithmRule("RSA", 0),), "RSA-2048"),
        ((KeyAlgorithmRule("RSA", 2048),), "RSA-2048"),
        ((KeyAlgorithmRule("RSA", 3072),), "RSA-3072"),
        ((KeyAlgorithmRule("RSA", 4096),), "RSA-4096"),
        ((KeyAlgorithmRule("Ed25519"),), "Ed25519"),
        ((KeyAlgorithmRule("DSA", 1024), KeyAlgorithmRule("RSA", 3000)), "RSA-3072"),
        ((), "ECDSA-P256"),
    ],
)
def test_the_key_is_the_first_allowed_algorithm_at_its_smallest_size(
    rules: tuple[KeyAlgorithmRule, ...], expected: str
) -> None:
    """Unknown algorithms are passed over; no rule at all means ECDSA P-256."""
    assert key_spec_for(profile(*rules)) == expected


@pytest.mark.parametrize(
    ("policies", "days", "expected"),
    [
        ({}, 30, True),
        ({}, 31, False),
        ({"rp-1": policy(renewal_window_days=10)}, 10, True),
        ({"rp-1": policy(renewal_window_days=10)}, 11, False),
        ({"rp-1": policy(auto_renew=False)}, 1, False),
    ],
)
def test_a_certificate_is_due_inside_its_policy_window_when_auto_renewed(
    policies: dict[str, RenewalPolicy], days: int, expected: bool
) -> None:
    """Without a policy the window is 30 days; auto_renew off never renews."""
    assert renewal_due(policies, "rp-1", NOW + timedelta(days=days), NOW) is expected


def test_a_certificate_without_a_policy_id_uses_the_default_window() -> None:
    """A missing policy id is the same as no policy."""
    assert renewal_due({}, None, NOW + timedelta(days=29), NOW) is True


def cert(status: CertificateStatus, issuer_id: str | None = "iss-1") -> ManagedCertificate:
    """A managed certificate in `status`."""
    return ManagedCertificate(
        id="mc-1",
        name="web",
        common_name="web.example.com",
        created_at=NOW,
        updated_at=NOW,
        status=status,
        issuer_id=issuer_id,
    )


@pytest.mark.parametrize("status", [CertificateStatus.REVOKED, CertificateStatus.ARCHIVED])
def test_a_final_certificate_cannot_be_renewed(status: CertificateStatus) -> None:
    """Revoked and archived certificates are a Conflict naming the status."""
    with pytest.raises(Conflict) as caught:
        check_renewable(cert(status))
    assert caught.value.detail == f"certificate is {status.value}; it cannot be renewed"


def test_a_certificate_without_an_issuer_cannot_be_renewed() -> None:
    """No issuer is a 400 on issuer_id."""
    with pytest.raises(InvalidRequest) as caught:
        check_renewable(cert(CertificateStatus.ACTIVE, issuer_id=None))
    assert caught.value.field == "issuer_id"


def test_an_active_certificate_with_an_issuer_can_be_renewed() -> None:
    """Nothing is raised."""
    assert check_renewable(cert(CertificateStatus.ACTIVE)) is None
