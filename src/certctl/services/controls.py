"""Changes that weaken a certificate control need an admin (SPEC C10).

A control is what the profile in force asks of an issuance: approval, key algorithms and sizes,
maximum TTL, EKUs, SAN patterns, Must-Staple. An operator may tighten them; loosening them,
directly on a profile or by pointing a renewal policy or a certificate at a laxer profile,
needs the admin role, so nobody can switch approval off for their own request.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from certctl.db.uow import UnitOfWork
from certctl.domain.access import Caller, Permission
from certctl.domain.certificates import ManagedCertificate
from certctl.domain.policies import CertificateProfile, RenewalPolicy, weakened_controls
from certctl.errors import PermissionDenied
from certctl.services.runtime import Runtime


def require_admin_to_weaken(caller: Caller, subject: str, weakened: Sequence[str]) -> None:
    """Raise PermissionDenied naming the loosened fields unless the caller is an admin."""
    if weakened and not caller.principal.can(Permission.ADMIN):
        raise PermissionDenied(
            f"only an admin may weaken the controls of {subject}: {', '.join(weakened)}"
        )


async def guard_profile(
    runtime: Runtime,
    uow: UnitOfWork,
    caller: Caller,
    before: CertificateProfile,
    after: CertificateProfile,
) -> None:
    """Update guard of profiles: loosening one of its fields needs an admin."""
    subject = f"certificate profile {before.id!r}"
    require_admin_to_weaken(caller, subject, weakened_controls(before, after))


async def guard_policy(
    runtime: Runtime,
    uow: UnitOfWork,
    caller: Caller,
    before: RenewalPolicy,
    after: RenewalPolicy,
) -> None:
    """Update guard of renewal policies: switching to a laxer profile (or none) needs an admin."""
    if before.certificate_profile_id == after.certificate_profile_id:
        return
    old = await _profile_or_default(uow, before.certificate_profile_id, before.created_at)
    new = await _profile_or_default(uow, after.certificate_profile_id, before.created_at)
    subject = f"renewal policy {before.id!r} (certificate_profile_id)"
    require_admin_to_weaken(caller, subject, weakened_controls(old, new))


async def guard_certificate(
    uow: UnitOfWork, caller: Caller, before: ManagedCertificate, after: ManagedCertificate
) -> None:
    """Certificate edits that change the profile in force (its own or its policy's)."""
    if (before.certificate_profile_id, before.renewal_policy_id) == (
        after.certificate_profile_id,
        after.renewal_policy_id,
    ):
        return
    old = await _profile_in_force(uow, before)
    new = await _profile_in_force(uow, after)
    subject = f"certificate {before.id!r} (its profile in force)"
    require_admin_to_weaken(caller, subject, weakened_controls(old, new))


async def _profile_or_default(
    uow: UnitOfWork, profile_id: str | None, at: datetime
) -> CertificateProfile:
    """The named profile, or the built-in default a certificate without one gets."""
    if profile_id is None:
        return CertificateProfile(id="default", name="default", created_at=at, updated_at=at)
    return await uow.profiles.require(profile_id)


async def _profile_in_force(uow: UnitOfWork, cert: ManagedCertificate) -> CertificateProfile:
    """The certificate's own profile, else its policy's, else the default (as issuance reads)."""
    profile_id = cert.certificate_profile_id
    if profile_id is None and cert.renewal_policy_id is not None:
        policy = await uow.policies.get(cert.renewal_policy_id)
        profile_id = policy.certificate_profile_id if policy is not None else None
    return await _profile_or_default(uow, profile_id, cert.created_at)
