"""Renewal rules: which certificates renew, when, and with which key (C5)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from certctl.domain.alerts import days_left
from certctl.domain.certificates import CertificateStatus, ManagedCertificate
from certctl.domain.policies import CertificateProfile, RenewalPolicy
from certctl.errors import Conflict, InvalidRequest

DEFAULT_WINDOW_DAYS = 30
# Certificates the renewal scan renews; Failed ones wait for a person (manual renew).
RENEWABLE = (CertificateStatus.ACTIVE, CertificateStatus.EXPIRING, CertificateStatus.EXPIRED)
FINAL = frozenset({CertificateStatus.REVOKED, CertificateStatus.ARCHIVED})


def key_spec_for(profile: CertificateProfile) -> str:
    """The key a server-side keygen makes: the profile's first allowed algorithm, smallest size."""
    for rule in profile.allowed_key_algorithms:
        if rule.algorithm == "ECDSA":
            return "ECDSA-P256" if rule.min_size <= 256 else "ECDSA-P384"
        if rule.algorithm == "RSA":
            size = max(2048, rule.min_size)
            return f"RSA-{3072 if 2048 < size <= 3072 else 4096 if size > 3072 else 2048}"
        if rule.algorithm == "Ed25519":
            return "Ed25519"
    return "ECDSA-P256"


def renewal_due(
    policies: Mapping[str, RenewalPolicy],
    policy_id: str | None,
    expires_at: datetime,
    now: datetime,
) -> bool:
    """Tell whether the renewal scan renews a certificate expiring at `expires_at` now."""
    policy = policies.get(policy_id or "")
    if policy is not None and not policy.auto_renew:
        return False
    window = policy.renewal_window_days if policy else DEFAULT_WINDOW_DAYS
    return days_left(expires_at, now) <= window


def check_renewable(cert: ManagedCertificate) -> None:
    """Refuse to renew a revoked or archived certificate, or one without an issuer."""
    if cert.status in FINAL:
        raise Conflict(f"certificate is {cert.status.value}; it cannot be renewed")
    if not cert.issuer_id:
        raise InvalidRequest("the certificate has no issuer to renew it with", field="issuer_id")
