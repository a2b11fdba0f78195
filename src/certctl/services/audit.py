"""Writing, reading and verifying the audit trail; rows are written inside the caller's unit
of work and chained when it commits."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import structlog

from certctl.db.uow import UnitOfWork
from certctl.domain.access import Caller, Permission, Role
from certctl.domain.audit import AuditEvent, AuditFilter, AuditStatus, redact
from certctl.domain.audit_chain import ChainReport, ChainVerifier
from certctl.domain.ids import new_id
from certctl.domain.listing import Page, PageRequest
from certctl.errors import PermissionDenied
from certctl.metrics import Metrics
from certctl.services.runtime import Runtime

log = structlog.get_logger("certctl.audit")

VERIFY_BATCH = 2000
VERIFIERS = frozenset({Role.ADMIN, Role.AUDITOR})


def audit_event(
    runtime: Runtime,
    *,
    caller: Caller,
    action: str,
    resource_type: str,
    resource_id: str,
    details: Mapping[str, Any] | None = None,
    status: AuditStatus = AuditStatus.SUCCESS,
) -> AuditEvent:
    """Build one audit event (details redacted), to be written with others in one go."""
    now = runtime.clock.now()
    latency = None
    if caller.received_at is not None:
        # Durations come from the monotonic clock: wall time may jump, and tests freeze it.
        latency = round((time.perf_counter() - caller.received_at) * 1000, 3)
    return AuditEvent(
        id=new_id("ae", now),
        occurred_at=now,
        actor=caller.principal.name,
        actor_type=caller.principal.actor_type,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        status=status,
        details=redact(dict(details or {})),
        request_id=caller.request_id,
        body_sha256=caller.body_sha256,
        latency_ms=latency,
    )


async def record(
    uow: UnitOfWork,
    runtime: Runtime,
    *,
    caller: Caller,
    action: str,
    resource_type: str,
    resource_id: str,
    details: Mapping[str, Any] | None = None,
    status: AuditStatus = AuditStatus.SUCCESS,
) -> AuditEvent:
    """Append one audit row (details redacted) in the same transaction as the change."""
    event = audit_event(
        runtime,
        caller=caller,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        details=details,
        status=status,
    )
    await uow.audit.add(event)
    return event


class AuditService:
    """Reads of the trail, recording of refused or failed API calls, chain verification."""

    def __init__(self, runtime: Runtime, metrics: Metrics | None = None) -> None:
        self.runtime = runtime
        self.metrics = metrics

    async def search(
        self, caller: Caller, *, request: PageRequest, filters: AuditFilter
    ) -> Page[AuditEvent]:
        """One page of events, newest first."""
        caller.principal.require(Permission.READ_AUDIT)
        async with self.runtime.db.uow() as uow:
            return await uow.audit.page(request=request, filters=filters)

    async def record_refusal(
        self,
        caller: Caller,
        *,
        action: str,
        resource_type: str,
        resource_id: str,
        status: AuditStatus,
        details: Mapping[str, Any],
    ) -> None:
        """Audit a mutating call that was refused or failed, in its own transaction."""
        async with self.runtime.db.uow() as uow:
            await record(
                uow,
                self.runtime,
                caller=caller,
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                details=details,
                status=status,
            )

    async def verify(self, caller: Caller) -> ChainReport:
        """Verify the whole chain for an admin or auditor."""
        if caller.principal.role not in VERIFIERS:
            raise PermissionDenied("only admin and auditor roles may verify the audit chain")
        return await self.verify_chain()

    async def verify_chain(self) -> ChainReport:
        """Walk every row up to the recorded head and report the first broken link."""
        verifier = ChainVerifier()
        async with self.runtime.db.uow() as uow:
            # Rows past the newest one seen here were appended after this walk began.
            head_seq, head_hash, newest = await uow.audit.chain_head()
            after: int | None = None
            while newest is not None:
                rows = await uow.audit.chain_slice(
                    after_seq=after, upto_seq=newest, limit=VERIFY_BATCH
                )
                if not all(verifier.feed(row) for row in rows) or len(rows) < VERIFY_BATCH:
                    break
                after = rows[-1].seq
        report = verifier.finish(head_seq=head_seq, head_hash=head_hash)
        self._observe(report)
        return report

    def _observe(self, report: ChainReport) -> None:
        result = "intact" if report.intact else "broken"
        if self.metrics is not None:
            self.metrics.audit_chain_intact.set(1 if report.intact else 0)
            self.metrics.audit_chain_rows.set(report.rows_checked)
            self.metrics.audit_verifications.labels(result=result).inc()
        if report.first_break is None:
            log.info("audit.chain_verified", rows=report.rows_checked, head=report.head_hash)
        else:
            brk = report.first_break
            log.error(
                "audit.chain_broken",
                kind=brk.kind.value,
                seq=brk.seq,
                event_id=brk.event_id,
                rows=report.rows_checked,
            )
