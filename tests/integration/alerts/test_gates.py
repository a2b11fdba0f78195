"""Silences, quiet hours and channel rate limits, counted at real receivers on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from certctl.bootstrap import AppContext, build_context
from certctl.clock import FrozenClock
from certctl.db.models import ManagedCertificateRow
from certctl.db.repositories.certificates import CERTIFICATE
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.certificates import CertificateStatus, ManagedCertificate
from certctl.domain.listing import PageRequest
from certctl.domain.notifications import NotificationEvent
from certctl.services.notifications import NotificationFilter

from .conftest import Receivers, channel_settings, make_cert

SLACK_CRITICAL = {"alert_thresholds_days": [0], "alert_channels": {"critical": ["Slack"]}}
SLACK_WARNING = {
    "alert_thresholds_days": [7],
    "alert_severity_map": {"7": "warning"},
    "alert_channels": {"warning": ["Slack"]},
}


async def rows(ctx: AppContext, **filters: str) -> list[NotificationEvent]:
    """Outbox rows matching the filters, oldest first."""
    page = await ctx.notifications.search(
        SYSTEM_CALLER, request=PageRequest(per_page=500), filters=NotificationFilter(**filters)
    )
    return list(reversed(page.items))


async def silence(ctx: AppContext, hours: float, **matchers: str) -> str:
    created = await ctx.silences.create(
        SYSTEM_CALLER,
        {
            "reason": "host decommissioned",
            "ends_at": ctx.clock.now() + timedelta(hours=hours),
            **matchers,
        },
    )
    return created.id


async def test_silence_holds_then_releases(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """A delivery under an active silence is recorded silenced and goes out once it ends."""
    await make_cert(actx, policy=SLACK_CRITICAL)
    silence_id = await silence(actx, 2, team_id="t-plat", channel="Slack")
    await actx.alerts.scan()
    first = await actx.notifications.dispatch()
    assert (first.claimed, first.silenced, first.sent) == (1, 1, 0)
    [row] = await rows(actx, channel="Slack")
    assert (row.status.value, row.silence_id, row.attempts) == ("silenced", silence_id, 0)
    clock.advance(timedelta(hours=1, minutes=59))
    await actx.notifications.dispatch()
    assert len(receivers.http["Slack"].requests) == 0
    clock.advance(timedelta(minutes=1))
    released = await actx.notifications.dispatch()
    assert (released.claimed, released.sent) == (1, 1)
    assert len(receivers.http["Slack"].requests) == 1
    [row] = await rows(actx, channel="Slack")
    assert (row.status.value, row.silence_id) == ("sent", silence_id)


async def test_expired_silence_releases_at_once(actx: AppContext, receivers: Receivers) -> None:
    """Expiring a silence early makes its rows pending in the same commit; the next tick sends."""
    cert_id = await make_cert(actx, policy=SLACK_CRITICAL)
    silence_id = await silence(actx, 24, certificate_id=cert_id)
    await actx.alerts.scan()
    await actx.notifications.dispatch()
    assert [r.status.value for r in await rows(actx, channel="Slack")] == ["silenced"]
    expired = await actx.silences.expire(SYSTEM_CALLER, silence_id)
    assert expired.ends_at == actx.clock.now()
    assert [r.status.value for r in await rows(actx, channel="Slack")] == ["pending"]
    summary = await actx.notifications.dispatch()
    assert (summary.sent, len(receivers.http["Slack"].requests)) == (1, 1)


async def test_silence_matchers_must_all_match(actx: AppContext, receivers: Receivers) -> None:
    """A silence for another environment mutes nothing: every given matcher must match."""
    await make_cert(actx, policy=SLACK_CRITICAL)
    await silence(actx, 2, team_id="t-plat", environment="staging")
    await actx.alerts.scan()
    summary = await actx.notifications.dispatch()
    assert (summary.silenced, summary.sent) == (0, 1)


BERLIN_NIGHTS = [
    # Saturday 22:30 CET, the night summer time starts: the window ends 07:00 CEST = 05:00 UTC.
    (datetime(2026, 3, 28, 21, 30, tzinfo=UTC), datetime(2026, 3, 29, 5, 0, tzinfo=UTC)),
    # Saturday 22:30 CEST, the night summer time ends: the window ends 07:00 CET = 06:00 UTC.
    (datetime(2026, 10, 24, 20, 30, tzinfo=UTC), datetime(2026, 10, 25, 6, 0, tzinfo=UTC)),
]


@pytest.mark.parametrize(("start", "window_end"), BERLIN_NIGHTS)
async def test_quiet_hours_hold_until_local_morning_across_dst(
    actx: AppContext,
    receivers: Receivers,
    clock: FrozenClock,
    start: datetime,
    window_end: datetime,
) -> None:
    """A warning at 22:30 Berlin is held until 07:00 local on the night the clocks change."""
    clock.set(start)
    await make_cert(actx, days=5, policy=SLACK_WARNING)
    await actx.quiet_hours.create(
        SYSTEM_CALLER,
        {
            "name": "platform nights",
            "team_id": "t-plat",
            "weekdays": ["sat"],
            "start": "22:00",
            "end": "07:00",
            "timezone": "Europe/Berlin",
        },
    )
    await actx.alerts.scan()
    held = await actx.notifications.dispatch()
    [row] = await rows(actx, channel="Slack")
    assert (held.held, row.status.value, row.next_retry_at) == (1, "held", window_end)
    clock.set(window_end - timedelta(seconds=1))
    await actx.notifications.dispatch()
    assert len(receivers.http["Slack"].requests) == 0
    clock.set(window_end)
    sent = await actx.notifications.dispatch()
    assert (sent.sent, len(receivers.http["Slack"].requests)) == (1, 1)


async def test_critical_bypasses_quiet_hours(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """A critical alert goes out inside quiet hours."""
    clock.set(datetime(2026, 3, 28, 21, 30, tzinfo=UTC))
    await make_cert(actx, policy=SLACK_CRITICAL)
    await actx.quiet_hours.create(
        SYSTEM_CALLER,
        {
            "name": "slack nights",
            "channel": "Slack",
            "weekdays": ["sat"],
            "start": "22:00",
            "end": "07:00",
            "timezone": "Europe/Berlin",
        },
    )
    await actx.alerts.scan()
    summary = await actx.notifications.dispatch()
    assert (summary.held, summary.sent, len(receivers.http["Slack"].requests)) == (0, 1, 1)


@pytest.fixture
async def limited(
    database_url: str, receivers: Receivers, clock: FrozenClock
) -> AsyncIterator[AppContext]:
    """A context whose Slack channel may send 10 messages a minute."""
    settings = channel_settings(
        database_url,
        receivers,
        notification_rate_limits={"Slack": {"per_minute": 10}},
    )
    context = build_context(settings, clock=clock)
    yield context
    await context.aclose()


async def expiring_estate(ctx: AppContext, count: int) -> None:
    """`count` certificates under one Slack-critical policy, all expiring in 12 hours."""
    await make_cert(ctx, policy=SLACK_CRITICAL, name="seed")
    seed = await ctx.certificates.get(SYSTEM_CALLER, "mc-seed")
    now = ctx.clock.now()
    certs = [
        ManagedCertificate(
            id=f"mc-bulk-{i:05d}",
            name=f"bulk-{i:05d}",
            common_name=f"bulk-{i:05d}.example.com",
            created_at=now,
            updated_at=now,
            status=CertificateStatus.ACTIVE,
            expires_at=now + timedelta(hours=12),
            owner_id="o-alice",
            team_id="t-plat",
            renewal_policy_id=seed.renewal_policy_id,
        )
        for i in range(count - 1)
    ]
    async with ctx.runtime.db.uow() as uow:
        await uow.session.execute(
            insert(ManagedCertificateRow), [CERTIFICATE.to_columns(c) for c in certs]
        )


async def test_rate_limit_folds_a_storm_into_one_digest(
    limited: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """5,000 expiries under 10/minute: 10 messages in the first minute, then one digest of 4,990.

    Expected Slack messages: 10 + 1 = 11. Every alert after the tenth in the first minute is
    folded into the digest held until the minute ends; the digest goes out as the first
    message of the next window, and no later window has anything left to send.
    """
    await expiring_estate(limited, 5000)
    scan = await limited.alerts.scan()
    assert scan.alerts_enqueued == 5000
    first = await limited.notifications.dispatch()
    assert (first.sent, first.digested) == (10, 4990)
    assert len(receivers.http["Slack"].requests) == 10
    [digest] = await rows(limited, kind="digest")
    assert (digest.status.value, digest.next_retry_at) == (
        "held",
        clock.now().replace(second=0, microsecond=0) + timedelta(minutes=1),
    )
    assert digest.context["folded"] == 4990
    assert digest.subject == "4990 certificate alerts held back by the Slack rate limit"
    clock.advance(timedelta(minutes=1))
    second = await limited.notifications.dispatch()
    assert (second.claimed, second.sent) == (1, 1)
    clock.advance(timedelta(minutes=1))
    third = await limited.notifications.dispatch()
    assert third.claimed == 0
    assert len(receivers.http["Slack"].requests) == 11
    body = receivers.http["Slack"].requests[-1].json()
    assert body["text"] == "4990 certificate alerts held back by the Slack rate limit"
    async with limited.runtime.db.uow() as uow:
        counts = await uow.notifications.count_by("status")
    assert counts == {"sent": 11, "digested": 4990}


async def test_deleted_silence_releases_its_rows(actx: AppContext, receivers: Receivers) -> None:
    """Deleting a silence loses nothing: the next dispatch sends what it muted."""
    await make_cert(actx, policy=SLACK_CRITICAL)
    silence_id = await silence(actx, 2, channel="Slack")
    await actx.alerts.scan()
    await actx.notifications.dispatch()
    await actx.silences.delete(SYSTEM_CALLER, silence_id)
    summary = await actx.notifications.dispatch()
    assert (summary.sent, len(receivers.http["Slack"].requests)) == (1, 1)


@pytest.fixture
async def hourly(
    database_url: str, receivers: Receivers, clock: FrozenClock
) -> AsyncIterator[AppContext]:
    """A context whose Slack channel may send 2 messages a minute and 3 an hour."""
    settings = channel_settings(
        database_url,
        receivers,
        notification_rate_limits={"Slack": {"per_minute": 2, "per_hour": 3}},
    )
    context = build_context(settings, clock=clock)
    yield context
    await context.aclose()


async def test_hour_limit_folds_until_the_hour_reopens(
    hourly: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """2/minute and 3/hour with 10 alerts at 12:00: 2 sent, then at 12:01 one critical digest of
    the other 8, the hour's third and last message."""
    await expiring_estate(hourly, 10)
    await hourly.alerts.scan()
    first = await hourly.notifications.dispatch()
    assert (first.sent, first.digested) == (2, 8)
    clock.advance(timedelta(minutes=1))
    second = await hourly.notifications.dispatch()
    assert second.sent == 1
    [digest] = await rows(hourly, kind="digest")
    assert (digest.status.value, digest.context["folded"]) == ("sent", 8)
    assert digest.severity_tier == "critical"
    assert len(receivers.http["Slack"].requests) == 3
