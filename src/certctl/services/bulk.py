"""Bulk operations on jobs: criteria resolution and bulk renewal (C5)."""

from __future__ import annotations

from dataclasses import dataclass

from certctl.domain.access import Caller, Permission
from certctl.domain.certificates import CertificateFilter
from certctl.domain.jobs import BULK_LIMIT, BulkResult
from certctl.domain.renewal import check_renewable
from certctl.errors import CertctlError, Conflict, InvalidRequest, NotFound
from certctl.services.job_transitions import JobTransitions
from certctl.services.runtime import Runtime


@dataclass(frozen=True)
class BulkCriteria:
    """Which certificates a bulk operation covers: explicit ids and/or list filters."""

    certificate_ids: tuple[str, ...] = ()
    filters: CertificateFilter | None = None


class BulkOperations(JobTransitions):
    """Bulk renewal's side of the job service."""

    async def bulk_renew(self, caller: Caller, criteria: BulkCriteria) -> BulkResult:
        """Queue a renewal for every matched certificate that has none open."""
        caller.principal.require(Permission.WRITE)
        ids, total = await resolve_criteria(self.runtime, criteria)
        enqueued = skipped = 0
        errors: list[tuple[str, str]] = []
        for cert_id in ids:
            try:
                async with self.runtime.db.uow() as uow:
                    cert = await uow.certificates.get(cert_id)
                    if cert is None:
                        raise NotFound("certificate", cert_id)
                    check_renewable(cert)
                    job = await self._open_job(uow, caller, cert, trigger="bulk")
                if job is None:
                    skipped += 1
                else:
                    enqueued += 1
            except Conflict:
                skipped += 1
            except CertctlError as exc:
                errors.append((cert_id, exc.detail))
        return BulkResult(
            total_matched=total,
            total_enqueued=enqueued,
            total_skipped=skipped,
            total_failed=len(errors),
            errors=tuple(errors),
        )


async def resolve_criteria(runtime: Runtime, criteria: BulkCriteria) -> tuple[list[str], int]:
    """The certificate ids a bulk operation covers (at most BULK_LIMIT) and how many matched."""
    if not criteria.certificate_ids and criteria.filters is None:
        raise InvalidRequest(
            "give certificate_ids or at least one criterion (status, environment, owner_id, "
            "team_id, issuer_id, q)",
            field="certificate_ids",
        )
    if criteria.filters is None:
        ids = list(dict.fromkeys(criteria.certificate_ids))
        return ids, len(ids)
    async with runtime.db.uow() as uow:
        ids, total = await uow.certificates.matching_ids(criteria.filters, limit=BULK_LIMIT + 1)
    if total > BULK_LIMIT:
        raise InvalidRequest(
            f"{total} certificates match; a bulk operation covers at most {BULK_LIMIT}: "
            "narrow the criteria",
            field="criteria",
        )
    if criteria.certificate_ids:
        wanted = set(criteria.certificate_ids)
        ids = [i for i in ids if i in wanted]
        total = len(ids)
    return ids, total
