"""Managed certificates: create, import from PEM, edit with status rules, archive, versions."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from certctl.db.uow import UnitOfWork
from certctl.domain.access import Caller, Permission
from certctl.domain.alerts import NotificationKind
from certctl.domain.certificates import (
    CertificateFilter,
    CertificateSource,
    CertificateStatus,
    CertificateVersion,
    ManagedCertificate,
    check_archivable,
    check_status_change,
    status_for_expiry,
)
from certctl.domain.ids import check_client_id, new_id
from certctl.domain.listing import Page, PageRequest, SortKey
from certctl.domain.messages import revocation_text
from certctl.domain.pki import Revocation
from certctl.domain.policies import RenewalPolicy
from certctl.domain.revocation import parse_reason
from certctl.errors import Conflict, InvalidRequest, NotFound
from certctl.metrics import Metrics
from certctl.pki.facts import read_pem
from certctl.services.alert_records import refresh_open_gauge
from certctl.services.alert_resolution import resolve_for_certificate
from certctl.services.audit import record
from certctl.services.controls import guard_certificate
from certctl.services.inventory import audit_snapshot, changed_fields, check_references
from certctl.services.lifecycle import cancel_open_jobs, enqueue_lifecycle
from certctl.services.runtime import Runtime

RESOURCE = "certificate"
REFERENCES = {
    "owner_id": "owners",
    "team_id": "teams",
    "issuer_id": "issuers",
    "renewal_policy_id": "policies",
    "certificate_profile_id": "profiles",
}
LIST_REFERENCES = {"target_ids": "targets"}
_SYSTEM_ONLY = frozenset({CertificateStatus.REVOKED, CertificateStatus.ARCHIVED})


def _freeze(fields: Mapping[str, Any]) -> dict[str, Any]:
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    if "tags" in values:
        values["tags"] = dict(values["tags"] or {})
    return values


class CertificateService:
    """Use cases of managed certificates."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        extra_recipients: Sequence[str] = (),
        metrics: Metrics | None = None,
    ) -> None:
        self.runtime = runtime
        self.extra_recipients = tuple(extra_recipients)
        self.metrics = metrics

    async def refresh_alert_gauge(self) -> None:
        """Recount certctl_alerts_open after a commit that resolved alerts."""
        if self.metrics is not None:
            await refresh_open_gauge(self.runtime, self.metrics)

    async def create(self, caller: Caller, fields: Mapping[str, Any]) -> ManagedCertificate:
        """Register a certificate by hand (status Pending unless stated)."""
        caller.principal.require(Permission.WRITE)
        values = _freeze(fields)
        status = values.get("status", CertificateStatus.PENDING)
        if status in _SYSTEM_ONLY:
            raise InvalidRequest(
                f"a new certificate cannot start as {status.value}", field="status"
            )
        async with self.runtime.db.uow() as uow:
            cert = await self._insert(uow, caller, values, action="certificate_created")
        return cert

    async def _insert(
        self,
        uow: UnitOfWork,
        caller: Caller,
        values: dict[str, Any],
        *,
        action: str,
        now: datetime | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> ManagedCertificate:
        now = now or self.runtime.clock.now()
        given_id = values.pop("id", None)
        cert_id = check_client_id(given_id) if given_id else new_id("mc", now)
        cert = ManagedCertificate(id=cert_id, created_at=now, updated_at=now, **values)
        await check_references(uow, values, REFERENCES, LIST_REFERENCES)
        await uow.certificates.add(cert)
        await record(
            uow,
            self.runtime,
            caller=caller,
            action=action,
            resource_type=RESOURCE,
            resource_id=cert.id,
            details={**audit_snapshot(cert), **(details or {})},
        )
        return cert

    async def import_pem(
        self, caller: Caller, pem: str, fields: Mapping[str, Any]
    ) -> tuple[ManagedCertificate, CertificateVersion]:
        """Create a certificate and its first version from the certificate's own facts."""
        caller.principal.require(Permission.WRITE)
        async with self.runtime.db.uow() as uow:
            return await self.import_in(uow, caller, pem, fields, action="certificate_imported")

    async def import_in(
        self,
        uow: UnitOfWork,
        caller: Caller,
        pem: str,
        fields: Mapping[str, Any],
        *,
        action: str,
        source: CertificateSource = CertificateSource.IMPORT,
    ) -> tuple[ManagedCertificate, CertificateVersion]:
        """`import_pem` inside the caller's unit of work (a discovery claim uses it)."""
        facts, chain = read_pem(pem)
        now = self.runtime.clock.now()
        existing = await uow.versions.by_fingerprint(facts.fingerprint_sha256)
        if existing is not None:
            raise Conflict(f"this certificate is already managed as {existing.certificate_id!r}")
        policy = await _policy(uow, fields.get("renewal_policy_id"))
        window = policy.renewal_window_days if policy else 30
        values = {
            "name": fields.get("name") or facts.common_name or facts.fingerprint_sha256[:16],
            "common_name": facts.common_name,
            "sans": facts.sans,
            "expires_at": facts.not_after,
            "status": status_for_expiry(facts.not_after, now, window),
            "source": source,
            **{k: v for k, v in _freeze(fields).items() if k != "name" and v is not None},
        }
        cert = await self._insert(
            uow,
            caller,
            values,
            action=action,
            now=now,
            details={
                "serial_number": facts.serial_number,
                "fingerprint_sha256": facts.fingerprint_sha256,
                "issuer_dn": facts.issuer_dn,
            },
        )
        version = CertificateVersion(
            id=new_id("cv", now),
            certificate_id=cert.id,
            serial_number=facts.serial_number,
            not_before=facts.not_before,
            not_after=facts.not_after,
            fingerprint_sha256=facts.fingerprint_sha256,
            pem_chain=chain,
            created_at=now,
            subject_dn=facts.subject_dn,
            issuer_dn=facts.issuer_dn,
            key_algorithm=facts.key_algorithm,
            key_size=facts.key_size,
        )
        await uow.versions.add(version)
        return cert, version

    async def get(self, caller: Caller, cert_id: str) -> ManagedCertificate:
        """One certificate with its target ids."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.read() as reads:
            found = await reads.certificates.get(cert_id)
        if found is None:
            raise NotFound(RESOURCE, cert_id)
        return found

    async def search(
        self, caller: Caller, *, request: PageRequest, sort: SortKey, filters: CertificateFilter
    ) -> Page[ManagedCertificate]:
        """One filtered, sorted page of certificates."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.read() as reads:
            return await reads.certificates.page(request=request, sort=sort, filters=filters)

    async def search_records(
        self, caller: Caller, *, request: PageRequest, sort: SortKey, filters: CertificateFilter
    ) -> Page[dict[str, Any]]:
        """The same page as plain records (stored fields and `target_ids`), for encoding as
        they are: the API's list, its hottest read (SPEC C13)."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.read() as reads:
            return await reads.certificates.page_records(
                request=request, sort=sort, filters=filters
            )

    async def update(
        self, caller: Caller, cert_id: str, changes: Mapping[str, Any]
    ) -> ManagedCertificate:
        """Edit fields; a status edit must follow the lifecycle rules."""
        caller.principal.require(Permission.WRITE)
        values = _freeze(changes)
        async with self.runtime.db.uow() as uow:
            before = await uow.certificates.require(cert_id)
            if before.status is CertificateStatus.ARCHIVED:
                raise Conflict("certificate is archived; archived certificates cannot change")
            if "status" in values:
                check_status_change(before.status, values["status"])
            await check_references(uow, values, REFERENCES, LIST_REFERENCES)
            after = dataclasses.replace(before, updated_at=self.runtime.clock.now(), **values)
            await guard_certificate(uow, caller, before, after)
            await uow.certificates.update(after)
            await record(
                uow,
                self.runtime,
                caller=caller,
                action="certificate_updated",
                resource_type=RESOURCE,
                resource_id=cert_id,
                details=changed_fields(before, after),
            )
        return after

    async def archive(self, caller: Caller, cert_id: str) -> ManagedCertificate:
        """Archive (the API's DELETE): kept for history, no longer alerted or renewed."""
        caller.principal.require(Permission.WRITE)
        async with self.runtime.db.uow() as uow:
            before = await uow.certificates.require(cert_id)
            check_archivable(before.status)
            after = dataclasses.replace(
                before, status=CertificateStatus.ARCHIVED, updated_at=self.runtime.clock.now()
            )
            await uow.certificates.update_own_columns(after)
            await record(
                uow,
                self.runtime,
                caller=caller,
                action="certificate_archived",
                resource_type=RESOURCE,
                resource_id=cert_id,
                details={"previous_status": before.status.value},
            )
            await cancel_open_jobs(uow, self.runtime, caller, cert_id, "certificate archived")
            resolved = await resolve_for_certificate(
                uow, self.runtime, cert_id, reason="certificate archived"
            )
        # The gauge is read from committed rows, so it is recounted after the transaction.
        if resolved:
            await self.refresh_alert_gauge()
        return after

    async def mark_revoked(
        self, caller: Caller, cert_id: str, *, reason: str
    ) -> ManagedCertificate:
        """Record a certificate as revoked (status, time, reason) with its audit row.

        CRL and OCSP publication build on this state; a revoked or archived certificate
        cannot be revoked again.
        """
        cert, _ = await self.revoke(caller, cert_id, reason=reason)
        return cert

    async def revoke(
        self, caller: Caller, cert_id: str, *, reason: str, refresh_gauge: bool = True
    ) -> tuple[ManagedCertificate, list[Revocation]]:
        """Revoke in one transaction: status, a revocation row per unexpired version, audit.

        Every version still valid is revoked, not only the latest: a renewal leaves the
        previous certificate trusted until it expires (SPEC C6). The latest version is
        revoked even when expired, so the record names its serial; a certificate without
        versions gets no rows. Publishing (CRL, OCSP) is the issuer's part, after the commit.
        The open-alerts gauge is recounted after the commit unless `refresh_gauge` is off
        (a bulk revocation recounts once at its end).
        """
        caller.principal.require(Permission.WRITE)
        parsed = parse_reason(reason)
        async with self.runtime.db.uow() as uow:
            before = await uow.certificates.require(cert_id)
            if before.status in _SYSTEM_ONLY:
                raise Conflict(f"certificate {cert_id} is already {before.status.value}")
            now = self.runtime.clock.now()
            after = dataclasses.replace(
                before,
                status=CertificateStatus.REVOKED,
                revoked_at=now,
                revocation_reason=parsed.value,
                updated_at=now,
            )
            await uow.certificates.update_own_columns(after)
            versions = await uow.versions.for_certificate(cert_id)
            revocations = [
                Revocation(
                    id=new_id("rev", now),
                    certificate_id=cert_id,
                    issuer_id=before.issuer_id,
                    serial_number=version.serial_number,
                    reason=parsed.value,
                    revoked_by=caller.principal.name,
                    revoked_at=now,
                )
                for i, version in enumerate(versions)
                if i == 0 or version.not_after > now
            ]
            for revocation in revocations:
                await uow.pki.add_revocation(revocation)
            details: dict[str, Any] = {
                "reason": parsed.value,
                "previous_status": before.status.value,
            }
            if revocations:
                details["serial_number"] = revocations[0].serial_number
                details["serial_numbers"] = [r.serial_number for r in revocations]
            await record(
                uow,
                self.runtime,
                caller=caller,
                action="certificate_revoked",
                resource_type=RESOURCE,
                resource_id=cert_id,
                details=details,
            )
            await cancel_open_jobs(uow, self.runtime, caller, cert_id, "certificate revoked")
            resolved = await resolve_for_certificate(
                uow, self.runtime, cert_id, reason=f"certificate revoked ({parsed.value})"
            )
            serial = revocations[0].serial_number if revocations else "-"
            await enqueue_lifecycle(
                uow,
                self.runtime,
                kind=NotificationKind.REVOCATION,
                cert=after,
                ref=serial,
                render=lambda facts: revocation_text(
                    facts, serial=serial, reason=parsed.value, by=caller.principal.name, at=now
                ),
                context={
                    "serial_number": serial,
                    "reason": parsed.value,
                    "revoked_by": caller.principal.name,
                    "revoked_at": now.isoformat(),
                },
                extra_recipients=self.extra_recipients,
            )
        if resolved and refresh_gauge:
            await self.refresh_alert_gauge()
        return after, revocations

    async def versions(self, caller: Caller, cert_id: str) -> list[CertificateVersion]:
        """Every version of a certificate, newest first."""
        caller.principal.require(Permission.READ)
        async with self.runtime.db.uow() as uow:
            await uow.certificates.require(cert_id)
            return await uow.versions.for_certificate(cert_id)

    async def version_page(
        self, caller: Caller, cert_id: str, *, paging: PageRequest
    ) -> Page[CertificateVersion]:
        """One page of a certificate's versions, newest first (a list answers one envelope)."""
        found = await self.versions(caller, cert_id)
        start = paging.offset
        return Page(
            items=found[start : start + paging.per_page],
            total=len(found),
            page=paging.page,
            per_page=paging.per_page,
        )

    async def version(self, caller: Caller, cert_id: str, version_id: str) -> CertificateVersion:
        """One version; `latest` names the newest."""
        found = await self.versions(caller, cert_id)
        if version_id == "latest" and found:
            return found[0]
        for version in found:
            if version.id == version_id:
                return version
        raise NotFound("certificate_version", version_id)


async def _policy(uow: UnitOfWork, policy_id: str | None) -> RenewalPolicy | None:
    if policy_id is None:
        return None
    policy = await uow.policies.get(policy_id)
    if policy is None:
        raise InvalidRequest(f"renewal_policy {policy_id!r} not found", field="renewal_policy_id")
    return policy
