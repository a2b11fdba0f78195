"""Outbox delivery: retry schedule, dead letter, requeue, skipped channels, crash safety, races."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import text

from certctl.bootstrap import AppContext, build_context
from certctl.clock import FrozenClock
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.audit import AuditFilter
from certctl.domain.listing import PageRequest
from certctl.services.notifications import NotificationFilter

from .conftest import Receivers, channel_settings, make_cert

PAGERDUTY_ONLY = {"alert_thresholds_days": [0], "alert_channels": {"critical": ["PagerDuty"]}}


async def only_row(ctx: AppContext, **filters: str):  # type: ignore[no-untyped-def]
    page = await ctx.notifications.search(
        SYSTEM_CALLER, request=PageRequest(), filters=NotificationFilter(**filters)
    )
    [row] = page.items
    return row


async def test_retry_schedule_is_1_2_4_8_minutes_then_dead(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """Five failed attempts: retries after 1, 2, 4 and 8 minutes, then dead without next_retry_at."""
    receivers.http["PagerDuty"].fail_next(5, status=503)
    await make_cert(actx, policy=PAGERDUTY_ONLY)
    await actx.alerts.scan()
    await actx.notifications.dispatch()
    gaps = []
    for _ in range(4):
        row = await only_row(actx, channel="PagerDuty")
        assert row.status.value == "failed"
        gaps.append(row.next_retry_at - clock.now())
        clock.advance(timedelta(seconds=59))
        assert (await actx.notifications.dispatch(retries=True)).claimed == 0
        clock.set(row.next_retry_at)
        assert (await actx.notifications.dispatch(retries=True)).claimed == 1
    assert gaps == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    dead = await only_row(actx, channel="PagerDuty")
    assert (dead.status.value, dead.attempts, dead.next_retry_at) == ("dead", 5, None)
    assert dead.last_error.startswith("PagerDuty answered 503")
    assert len(receivers.http["PagerDuty"].requests) == 5
    assert (await actx.stats.summary(SYSTEM_CALLER)).notifications_dead == 1
    audit = await actx.audit.search(
        SYSTEM_CALLER, request=PageRequest(), filters=AuditFilter(action="notification_dead")
    )
    assert [(e.resource_id, e.details["attempts"], e.actor_type.value) for e in audit.items] == [
        (dead.id, 5, "System")
    ]


async def test_requeue_of_a_dead_row_delivers_it(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """Requeue resets attempts to 0 and the next dispatch delivers the row."""
    receivers.http["PagerDuty"].fail_next(5, status=503)
    await make_cert(actx, policy=PAGERDUTY_ONLY)
    await actx.alerts.scan()
    await actx.notifications.dispatch()
    for _ in range(4):
        clock.advance(timedelta(hours=1))
        await actx.notifications.dispatch(retries=True)
    dead = await only_row(actx, status="dead")
    requeued = await actx.notifications.requeue(SYSTEM_CALLER, dead.id)
    assert (requeued.status.value, requeued.attempts, requeued.last_error) == ("pending", 0, None)
    await actx.notifications.dispatch()
    sent = await actx.notifications.get(SYSTEM_CALLER, dead.id)
    assert (sent.status.value, sent.attempts) == ("sent", 1)
    assert len(receivers.http["PagerDuty"].requests) == 6


async def test_unconfigured_channel_is_skipped_not_sent(
    database_url: str, receivers: Receivers, clock: FrozenClock
) -> None:
    """Without OpsGenie settings an OpsGenie alert is `skipped` with the reason, never retried."""
    settings = channel_settings(database_url, receivers, opsgenie_api_key=None)
    ctx = build_context(settings, clock=clock)
    try:
        await make_cert(
            ctx, policy={"alert_thresholds_days": [0], "alert_channels": {"critical": ["OpsGenie"]}}
        )
        await ctx.alerts.scan()
        summary = await ctx.notifications.dispatch()
        row = await only_row(ctx, channel="OpsGenie")
        assert (summary.skipped, row.status.value, row.next_retry_at) == (1, "skipped", None)
        assert row.last_error == "channel OpsGenie is not configured"
        clock.advance(timedelta(hours=2))
        assert (await ctx.notifications.dispatch(retries=True)).claimed == 0
    finally:
        await ctx.aclose()
    assert len(receivers.http["OpsGenie"].requests) == 0


async def test_decisions_survive_a_crash_before_delivery(
    database_url: str, receivers: Receivers, clock: FrozenClock
) -> None:
    """Rows decided by a process that died before dispatch are delivered by the next one."""
    first = build_context(channel_settings(database_url, receivers), clock=clock)
    await make_cert(first, policy={})
    assert (await first.alerts.scan()).alerts_enqueued == 4
    await first.aclose()  # the process goes away without delivering
    second = build_context(channel_settings(database_url, receivers), clock=clock)
    try:
        assert (await second.notifications.dispatch()).sent == 4
    finally:
        await second.aclose()
    assert len(receivers.smtp.envelopes) == 4


async def test_lease_of_a_crashed_dispatcher_expires_and_row_is_redelivered(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """A row claimed by a dispatcher that died is claimed again once its lease ran out."""
    await make_cert(actx, policy=PAGERDUTY_ONLY)
    await actx.alerts.scan()
    now = clock.now()
    async with actx.runtime.db.uow() as uow:
        claimed = await uow.notifications.claim_due(
            now=now, lease_until=now + timedelta(minutes=5), limit=10, retries=False
        )
    assert len(claimed) == 1
    assert (await actx.notifications.dispatch()).claimed == 0
    clock.advance(timedelta(minutes=6))
    assert (await actx.notifications.dispatch()).sent == 1


@pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
async def test_two_scanners_racing_write_one_row_per_key(
    database_url: str, receivers: Receivers, clock: FrozenClock
) -> None:
    """Concurrent scans on two contexts (two replicas) insert each decision exactly once."""
    contexts = [
        build_context(channel_settings(database_url, receivers), clock=clock) for _ in range(2)
    ]
    try:
        for name in ("a", "b", "c"):
            await make_cert(
                contexts[0],
                policy={
                    "alert_channels": {
                        "informational": ["Slack"],
                        "warning": ["Slack"],
                        "critical": ["Slack", "Email"],
                    }
                }
                if name == "a"
                else {},
                name=name,
            )
        results = await asyncio.gather(*(c.alerts.scan() for c in contexts))
        enqueued = sum(r.alerts_enqueued for r in results)
        deduped = sum(r.deduped for r in results)
        page = await contexts[0].notifications.search(
            SYSTEM_CALLER, request=PageRequest(per_page=100), filters=NotificationFilter()
        )
        assert page.total == 5 + 4 + 4
        assert (enqueued, deduped) == (13, 13)
    finally:
        for ctx in contexts:
            await ctx.aclose()


async def test_permanent_rejection_goes_straight_to_dead(
    actx: AppContext, receivers: Receivers
) -> None:
    """PagerDuty refusing the event with 400 (bad routing key) is dead after one attempt."""
    receivers.http["PagerDuty"].respond_with(
        400, b'{"status":"invalid event","errors":["bad key"]}'
    )
    await make_cert(actx, policy=PAGERDUTY_ONLY)
    await actx.alerts.scan()
    summary = await actx.notifications.dispatch()
    row = await only_row(actx, channel="PagerDuty")
    assert (summary.dead, row.status.value, row.attempts) == (1, "dead", 1)
    assert str(row.last_error).startswith("PagerDuty answered 400")


async def test_renewed_certificate_alerts_again_for_its_new_version(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """A new version resets the thresholds: the same threshold fires again for it."""
    from certctl.domain.certificates import CertificateVersion

    cert_id = await make_cert(actx, days=6.5, policy={"alert_thresholds_days": [7]})
    await actx.alerts.scan()
    await actx.notifications.dispatch()
    assert len(receivers.smtp.envelopes) == 1
    renewed_expiry = clock.now() + timedelta(days=6, hours=12)
    async with actx.runtime.db.uow() as uow:
        await uow.versions.add(
            CertificateVersion(
                id="cv-renewed",
                certificate_id=cert_id,
                serial_number="abc",
                not_before=clock.now(),
                not_after=renewed_expiry,
                fingerprint_sha256="f" * 64,
                pem_chain="-",
                created_at=clock.now(),
            )
        )
    clock.advance(timedelta(days=1))
    second = await actx.alerts.scan()
    await actx.notifications.dispatch()
    assert (second.alerts_enqueued, second.deduped) == (1, 0)
    assert len(receivers.smtp.envelopes) == 2


async def test_misconfigured_channel_fails_alone(
    database_url: str, receivers: Receivers, clock: FrozenClock
) -> None:
    """A broken SMTP sender address fails the Email rows only; Slack still delivers."""
    settings = channel_settings(database_url, receivers, smtp_from_address="not an address")
    ctx = build_context(settings, clock=clock)
    try:
        await make_cert(
            ctx,
            policy={
                "alert_thresholds_days": [0],
                "alert_channels": {"critical": ["Slack", "Email"]},
            },
        )
        await ctx.alerts.scan()
        summary = await ctx.notifications.dispatch()
        email = await only_row(ctx, channel="Email")
    finally:
        await ctx.aclose()
    assert (summary.sent, summary.failed) == (1, 1)
    assert str(email.last_error).startswith("channel Email is misconfigured: ")
    assert len(receivers.http["Slack"].requests) == 1


async def test_retry_after_of_a_rate_limited_channel_is_honoured(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """A 429 with Retry-After: 600 is retried after ten minutes, not one."""
    receivers.http["PagerDuty"].respond_with(429, b"slow down", {"Retry-After": "600"})
    await make_cert(actx, policy=PAGERDUTY_ONLY)
    await actx.alerts.scan()
    await actx.notifications.dispatch()
    row = await only_row(actx, channel="PagerDuty")
    assert row.next_retry_at == clock.now() + timedelta(minutes=10)


async def test_extra_recipients_get_every_email_alert(
    database_url: str, receivers: Receivers, clock: FrozenClock
) -> None:
    """CERTCTL_SMTP_EXTRA_RECIPIENTS are added to the owner on each Email alert."""
    settings = channel_settings(
        database_url, receivers, smtp_extra_recipients="pki@example.com, alice@example.com"
    )
    ctx = build_context(settings, clock=clock)
    try:
        await make_cert(ctx, policy={"alert_thresholds_days": [0]})
        await ctx.alerts.scan()
        await ctx.notifications.dispatch()
    finally:
        await ctx.aclose()
    assert [m.rcpt_tos for m in receivers.smtp.envelopes] == [
        ("alice@example.com", "pki@example.com")
    ]


@pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
async def test_known_keys_of_a_chunk_are_read_by_index_before_the_outbox_was_analysed(
    actx: AppContext,
) -> None:
    """The chunk's dedup-key lookup scans a never-analysed outbox 0 times sequentially (the
    planner's default guess for 200 ids is the whole table)."""
    async with actx.runtime.db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM notification_events"))
    async with actx.runtime.db.uow() as uow:
        keys = await uow.notifications.dedup_keys_for([f"mc-{n}" for n in range(200)])
        scans = await uow.session.scalar(
            text(
                "SELECT seq_scan FROM pg_stat_xact_user_tables "
                "WHERE relname = 'notification_events'"
            )
        )
    assert (keys, scans) == (set(), 0)
