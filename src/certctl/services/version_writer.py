"""Group commit of issued versions: the issuances that finish signing while a write is under
way share the next write transaction instead of taking one each.

Every issuance ends with the same write: the version row, the certificate's new status and
expiry, its renewal information dropped, its alerts resolved and an audit row appended
through the chain head, which serialises every writer of the trail. Written one by one, the
transaction's fixed costs (connection checkout, BEGIN, the head lock, COMMIT) and one
statement per step dominate an issuance; written together, a batch costs the statements of
one issuance, each sent once with the rows of all (executemany or `IN`).

Each item keeps its own outcome: a certificate that disappeared or reached a final status
meanwhile is refused as it would be alone (404, 422) and writes nothing; a batch the database
refuses as a whole is written again item by item, so one bad item fails only itself.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import datetime

from certctl.db.uow import IssuingCertificates, UnitOfWork
from certctl.domain.access import Caller
from certctl.domain.certificates import (
    CertificateFacts,
    CertificateStatus,
    CertificateVersion,
    ManagedCertificate,
)
from certctl.domain.ids import new_id
from certctl.domain.inventory import Issuer
from certctl.errors import InvalidRequest, NotFound
from certctl.metrics import Metrics
from certctl.services.alert_records import refresh_open_gauge
from certctl.services.alert_resolution import resolve_for_new_version
from certctl.services.audit import record
from certctl.services.runtime import Runtime

MAX_BATCH = 64
"""Items per write transaction: bounds the statements' parameter lists and the time the
chain head stays locked."""

_FINAL = frozenset({CertificateStatus.REVOKED, CertificateStatus.ARCHIVED})

Stored = tuple[ManagedCertificate, CertificateVersion]


def check_issuable(cert: ManagedCertificate) -> None:
    """A revoked or archived certificate gets no new version (422)."""
    if cert.status in _FINAL:
        raise InvalidRequest(
            f"certificate is {cert.status.value}; it cannot be issued again",
            field="certificate_id",
        )


@dataclass(frozen=True)
class IssuedVersion:
    """A chain the CA returned for a certificate, waiting to be stored."""

    caller: Caller
    certificate_id: str
    issuer: Issuer
    csr_pem: str
    chain_pem: str
    leaf: CertificateFacts
    now: datetime


@dataclass
class _Accepted:
    """An item whose certificate may take the version, with the rows it writes."""

    item: IssuedVersion
    before: ManagedCertificate
    after: ManagedCertificate
    version: CertificateVersion


_Queued = tuple[IssuedVersion, "asyncio.Future[Stored]"]


class VersionWriter:
    """Queues issued versions and writes whatever is queued in one transaction at a time."""

    def __init__(self, runtime: Runtime, *, metrics: Metrics | None = None) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self._queue: list[_Queued] = []
        self._task: asyncio.Task[None] | None = None

    async def store(self, item: IssuedVersion) -> Stored:
        """Record the version and make it the certificate's current one; returns once the
        transaction that wrote it has committed (or raises what refused it)."""
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        return await future

    def _take(self) -> list[_Queued]:
        """The next batch in arrival order: at most MAX_BATCH items and one per certificate
        (a second issuance of the same certificate waits for the next batch, so it sees the
        first one's write as it would alone)."""
        batch: list[_Queued] = []
        later: list[_Queued] = []
        seen: set[str] = set()
        for queued in self._queue:
            cert_id = queued[0].certificate_id
            if cert_id in seen or len(batch) == MAX_BATCH:
                later.append(queued)
            else:
                seen.add(cert_id)
                batch.append(queued)
        self._queue = later
        return batch

    async def _drain(self) -> None:
        while self._queue:
            batch = self._take()
            try:
                outcomes = await self._outcomes([item for item, _ in batch])
            except BaseException:
                # Cancelled with the event loop: nobody is left to wait for these.
                for _, future in (*batch, *self._queue):
                    future.cancel()
                self._queue = []
                raise
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():  # its caller went away; the write stands
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    async def _outcomes(self, items: list[IssuedVersion]) -> list[Stored | Exception]:
        """Write the batch in one transaction; if the database refuses it, each item alone."""
        try:
            return await self._write(items)
        except Exception as exc:
            if len(items) == 1:
                return [exc]
        alone: list[Stored | Exception] = []
        for item in items:
            try:
                alone.extend(await self._write([item]))
            except Exception as exc:
                alone.append(exc)
        return alone

    async def _write(self, items: list[IssuedVersion]) -> list[Stored | Exception]:
        """One transaction for every item its certificate accepts; refusals are returned."""
        outcomes: list[Stored | Exception] = []
        async with self.runtime.db.uow() as uow:
            issuing = await uow.issuing_certificates([i.certificate_id for i in items])
            found = issuing.found
            accepted: list[_Accepted] = []
            for item in items:
                before = found.get(item.certificate_id)
                try:
                    if before is None:
                        raise NotFound(uow.certificates.resource_type, item.certificate_id)
                    check_issuable(before)
                except (NotFound, InvalidRequest) as refused:
                    outcomes.append(refused)
                    continue
                accepted.append(_accept(item, before))
                outcomes.append((accepted[-1].after, accepted[-1].version))
            resolved = await self._write_accepted(uow, accepted, issuing) if accepted else 0
        if resolved and self.metrics is not None:
            # The gauge counts committed rows: recounted once the write is in.
            await refresh_open_gauge(self.runtime, self.metrics)
        return outcomes

    async def _write_accepted(
        self, uow: UnitOfWork, accepted: list[_Accepted], issuing: IssuingCertificates
    ) -> int:
        """Versions, renewal information, certificates, alerts, then the audit rows (each
        certificate's alert resolutions before its issuance, as alone). Renewal windows and
        open alerts are touched only for the certificates the read found with some. Returns
        how many alerts the new versions resolved."""
        ids = [a.after.id for a in accepted]
        await uow.versions.add_all([a.version for a in accepted])
        # A new version has its own ARI certID: its window is asked for afresh.
        await uow.renewal_info.forget_all([i for i in ids if i in issuing.with_window])
        await uow.certificates.update_own_columns_all([a.after for a in accepted])
        alerted = [i for i in ids if i in issuing.with_open_alert]
        open_alerts = await uow.alerts.open_for_many(alerted) if alerted else {}
        resolved = 0
        for done in accepted:
            resolved += len(
                await resolve_for_new_version(
                    uow, self.runtime, done.after, done.version, open_alerts.get(done.after.id, [])
                )
            )
            await record(
                uow,
                self.runtime,
                caller=done.item.caller,
                action="certificate_issued",
                resource_type="certificate",
                resource_id=done.after.id,
                details={
                    "issuer_id": done.item.issuer.id,
                    "issuer_type": done.item.issuer.type.value,
                    "version_id": done.version.id,
                    "serial_number": done.version.serial_number,
                    "not_after": done.version.not_after.isoformat(),
                    "previous_status": done.before.status.value,
                },
            )
        return resolved


def _accept(item: IssuedVersion, before: ManagedCertificate) -> _Accepted:
    """The version row and the certificate as the issuance leaves it."""
    leaf, now = item.leaf, item.now
    version = CertificateVersion(
        id=new_id("cv", now),
        certificate_id=item.certificate_id,
        serial_number=leaf.serial_number,
        not_before=leaf.not_before,
        not_after=leaf.not_after,
        fingerprint_sha256=leaf.fingerprint_sha256,
        pem_chain=item.chain_pem,
        created_at=now,
        subject_dn=leaf.subject_dn,
        issuer_dn=leaf.issuer_dn,
        key_algorithm=leaf.key_algorithm,
        key_size=leaf.key_size,
        csr_pem=item.csr_pem,
    )
    after = dataclasses.replace(
        before,
        status=CertificateStatus.ACTIVE,
        expires_at=leaf.not_after,
        last_renewal_at=now,
        # The record keeps the names it declares and gains any a profile pattern allowed
        # beyond them.
        common_name=before.common_name or leaf.common_name,
        sans=tuple(dict.fromkeys((*before.sans, *leaf.sans))),
        updated_at=now,
    )
    return _Accepted(item, before, after, version)
