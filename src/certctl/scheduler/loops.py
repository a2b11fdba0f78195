"""Every periodic job of the server, listed in one place (C12)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

from certctl.bootstrap import AppContext
from certctl.scheduler.runner import Loop, Scheduler
from certctl.services.alert_escalation import escalate_due
from certctl.services.owner_digests import send_owner_digests

# Dispatch ticks drain the whole backlog batch by batch; each batch is bounded by the
# notification timeout, so the tick timeout only guards against a wedged tick.
DISPATCH_TIMEOUT = 3600.0
OWNER_DIGEST_INTERVAL = 600.0
"""Digests go out from a fixed hour; a ten-minute tick sends them shortly after it."""
ESCALATION_INTERVAL = 60.0
"""Escalation delays are whole minutes: a minute's tick escalates within a minute of due."""
CRL_INTERVAL = 3600.0
"""CRLs are valid 24 h and regenerated hourly, so relying parties never hold a stale one."""
STATUS_COUNTS_INTERVAL = 5.0
"""Certificate writes append a delta row per status change; a list filtered by status sums
them, so they are folded often enough that a burst leaves no more than a few thousand."""


async def renewal(ctx: AppContext) -> dict[str, Any]:
    """Expiry scan (status changes, alert decisions into the outbox), then renewal jobs."""
    alerts = asdict(await ctx.alerts.scan())
    # Jobs for moments chosen in ACME renewal windows are queued up to the next scan.
    lookahead = timedelta(seconds=ctx.settings.scheduler_renewal_check_interval)
    return {**alerts, "renewals": asdict(await ctx.jobs.scan_renewals(lookahead=lookahead))}


async def alert_escalation(ctx: AppContext) -> dict[str, Any]:
    """Escalate critical alerts left unacknowledged past their policy's delay (C3)."""
    return asdict(await escalate_due(ctx.runtime))


async def owner_digests(ctx: AppContext) -> dict[str, Any]:
    """Queue the daily or weekly digest of every owner who opted in (C3)."""
    return asdict(await send_owner_digests(ctx.runtime))


async def job_processor(ctx: AppContext) -> dict[str, Any]:
    """Run one attempt of every due issuance or renewal job (retries included)."""
    return asdict(await ctx.jobs.process_due())


async def job_timeouts(ctx: AppContext) -> dict[str, Any]:
    """Fail jobs that waited too long for a CSR (24 h) or an approval (168 h)."""
    return asdict(await ctx.jobs.expire_waits())


async def agent_health(ctx: AppContext) -> dict[str, Any]:
    """Mark agents Offline after three missed heartbeats; fail jobs whose agent is gone (C5)."""
    offline = await ctx.agents.mark_silent_offline()
    return {"marked_offline": len(offline), **asdict(await ctx.jobs.fail_stalled())}


async def notification_dispatch(ctx: AppContext) -> dict[str, Any]:
    """Deliver pending outbox rows (near real time)."""
    return asdict(await ctx.notifications.dispatch(retries=False))


async def notification_retry(ctx: AppContext) -> dict[str, Any]:
    """Deliver failed rows whose retry time has come."""
    return asdict(await ctx.notifications.dispatch(retries=True))


async def crl(ctx: AppContext) -> dict[str, Any]:
    """A fresh DER CRL for every local CA (also regenerated right after each revocation),
    and another try at revocations a remote CA has not acknowledged yet."""
    # Remote CAs first: a local CA whose CRL cannot be signed fails the whole tick.
    remote = ctx.revocation.remote_revocations
    sent = await remote.notify() if remote is not None else None
    return {**await ctx.revocation.regenerate_all(), "remote": sent}


async def status_counts(ctx: AppContext) -> dict[str, Any]:
    """Fold the per-status certificate count deltas into one row per status."""
    return {"rows_folded": await ctx.stats.fold_status_counts()}


async def audit_verify(ctx: AppContext) -> dict[str, Any]:
    """Recompute the audit hash chain; the summary, a metric and an error log name a break."""
    report = await ctx.audit.verify_chain()
    brk = report.first_break
    return {
        "intact": report.intact,
        "rows_checked": report.rows_checked,
        "head_hash": report.head_hash,
        "first_break": None if brk is None else {**asdict(brk), "kind": brk.kind.value},
    }


async def discovery_scans(ctx: AppContext) -> dict[str, Any]:
    """Run network scans still Pending (requested while no runner took them, or before a restart)."""
    return await ctx.network_scans.run_pending()


async def drift(ctx: AppContext) -> dict[str, Any]:
    """Re-probe every deployed endpoint and record, notify and maybe redeploy drifts (C8)."""
    return asdict(await ctx.drift.check_all())


def build_scheduler(ctx: AppContext) -> Scheduler:
    """The server's loops with their configured intervals."""
    settings = ctx.settings
    loops = [
        Loop(
            "renewal",
            settings.scheduler_renewal_check_interval,
            lambda: renewal(ctx),
            run_at_start=True,
        ),
        Loop(
            "notification_dispatch",
            settings.notification_dispatch_interval,
            lambda: notification_dispatch(ctx),
            run_at_start=True,
            timeout=DISPATCH_TIMEOUT,
        ),
        Loop(
            "notification_retry",
            settings.notification_retry_interval,
            lambda: notification_retry(ctx),
            timeout=DISPATCH_TIMEOUT,
        ),
        Loop("alert_escalation", ESCALATION_INTERVAL, lambda: alert_escalation(ctx)),
        Loop("owner_digests", OWNER_DIGEST_INTERVAL, lambda: owner_digests(ctx)),
        Loop("crl", CRL_INTERVAL, lambda: crl(ctx), run_at_start=True),
        Loop(
            "job_processor",
            settings.scheduler_job_processor_interval,
            lambda: job_processor(ctx),
        ),
        Loop(
            "job_timeouts",
            settings.scheduler_job_timeout_interval,
            lambda: job_timeouts(ctx),
        ),
        Loop(
            "agent_health",
            settings.scheduler_agent_health_interval,
            lambda: agent_health(ctx),
        ),
        Loop("status_counts", STATUS_COUNTS_INTERVAL, lambda: status_counts(ctx)),
        Loop("audit_verify", settings.audit_verify_interval, lambda: audit_verify(ctx)),
        Loop(
            "discovery_scans",
            settings.discovery_scan_interval,
            lambda: discovery_scans(ctx),
            timeout=DISPATCH_TIMEOUT,
        ),
        Loop("drift", settings.drift_check_interval, lambda: drift(ctx), timeout=DISPATCH_TIMEOUT),
    ]
    return Scheduler(
        loops, clock=ctx.clock, metrics=ctx.metrics, leader_lock=ctx.runtime.db.leader_lock
    )
