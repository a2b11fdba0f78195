"""Delivery pipeline: one bad row or answer never fails its batch; results land as they finish."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from certctl.bootstrap import AppContext, build_context
from certctl.clock import FrozenClock
from certctl.db.models import NotificationEventRow
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.listing import PageRequest
from certctl.domain.notifications import Delivery, NotificationStatus, after_attempt
from certctl.services.notifications import NotificationFilter

from .conftest import Receivers, channel_settings, make_cert

FOUR_CHANNELS = {
    "alert_thresholds_days": [0],
    "alert_channels": {"critical": ["Slack", "Teams", "PagerDuty", "Webhook"]},
}


async def statuses(ctx: AppContext) -> dict[str, str]:
    """Channel → status of every outbox row."""
    page = await ctx.notifications.search(
        SYSTEM_CALLER, request=PageRequest(), filters=NotificationFilter()
    )
    return {row.channel: row.status.value for row in page.items}


async def row_of(ctx: AppContext, channel: str):  # type: ignore[no-untyped-def]
    page = await ctx.notifications.search(
        SYSTEM_CALLER, request=PageRequest(), filters=NotificationFilter(channel=channel)
    )
    [row] = page.items
    return row


@pytest.mark.parametrize(
    "retry_after", ["999999999999", "Fri, 01 Jan 2099 00:00:00 GMT", "1e400", "soon"]
)
async def test_absurd_retry_after_fails_only_its_row_on_the_schedule(
    actx: AppContext, receivers: Receivers, clock: FrozenClock, retry_after: str
) -> None:
    """A 503 with an absurd Retry-After is one failed row, retried after 1 minute; the others are sent once."""
    receivers.http["PagerDuty"].respond_with(
        503, b"down", {"Retry-After": retry_after, "Date": "Mon, 01 Jun 2026 12:00:00 GMT"}
    )
    await make_cert(actx, policy=FOUR_CHANNELS, name="storm-a")
    await make_cert(actx, policy=FOUR_CHANNELS, name="storm-b")
    await actx.alerts.scan()
    summary = await actx.notifications.dispatch()
    assert (summary.claimed, summary.sent, summary.failed) == (8, 6, 2)
    page = await actx.notifications.search(
        SYSTEM_CALLER, request=PageRequest(), filters=NotificationFilter(channel="PagerDuty")
    )
    assert {(r.status.value, r.attempts, r.next_retry_at) for r in page.items} == {
        ("failed", 1, clock.now() + timedelta(minutes=1))
    }
    assert (await actx.notifications.dispatch()).claimed == 0
    assert (await actx.notifications.dispatch(retries=True)).claimed == 0
    assert receivers.counts() == {
        "Slack": 2,
        "Teams": 2,
        "PagerDuty": 2,
        "OpsGenie": 0,
        "Webhook": 2,
        "Email": 0,
    }


async def test_retry_after_of_two_hours_is_capped_at_one(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """Retry-After: 7200 delays the retry by the 1 h cap, not two hours."""
    receivers.http["PagerDuty"].respond_with(503, b"down", {"Retry-After": "7200"})
    await make_cert(actx, policy=FOUR_CHANNELS)
    await actx.alerts.scan()
    await actx.notifications.dispatch()
    row = await row_of(actx, "PagerDuty")
    assert row.next_retry_at == clock.now() + timedelta(hours=1)


async def test_a_row_that_cannot_be_rendered_fails_alone(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """An internal error in one row's attempt is that row's failed attempt; its batch is sent."""
    await make_cert(actx, policy=FOUR_CHANNELS)
    await actx.alerts.scan()
    slack = await row_of(actx, "Slack")
    async with actx.runtime.db.uow() as uow:
        await uow.session.execute(
            update(NotificationEventRow)
            .where(NotificationEventRow.id == slack.id)
            .values(context={"expires_at": "not a date"})
        )
    summary = await actx.notifications.dispatch()
    assert (summary.claimed, summary.sent, summary.failed) == (4, 3, 1)
    failed = await row_of(actx, "Slack")
    assert (failed.status.value, failed.attempts) == ("failed", 1)
    assert failed.last_error.startswith("internal error: ValueError: ")
    assert failed.next_retry_at == clock.now() + timedelta(minutes=1)
    assert len(receivers.http["Slack"].requests) == 0
    assert await statuses(actx) == {
        "Slack": "failed",
        "Teams": "sent",
        "PagerDuty": "sent",
        "Webhook": "sent",
    }


@pytest.fixture
async def slow_ctx(
    database_url: str, receivers: Receivers, clock: FrozenClock
) -> AsyncIterator[AppContext]:
    """Channels at the receivers with a timeout long enough for a hanging receiver to be seen."""
    ctx = build_context(
        channel_settings(database_url, receivers, notification_timeout_seconds=60), clock=clock
    )
    yield ctx
    await ctx.aclose()


async def test_results_are_recorded_while_a_slow_delivery_is_still_in_flight(
    slow_ctx: AppContext, receivers: Receivers
) -> None:
    """Finished deliveries are committed at once, not when the slowest row of the claim ends."""
    receivers.http["Teams"].hang()
    await make_cert(slow_ctx, policy=FOUR_CHANNELS)
    await slow_ctx.alerts.scan()
    dispatch = asyncio.create_task(slow_ctx.notifications.dispatch())
    async with asyncio.timeout(30):
        await receivers.http["Teams"].wait_for(1)
    seen: dict[str, str] = {}
    for _ in range(500):
        seen = await statuses(slow_ctx)
        if list(seen.values()).count("sent") == 3:
            break
        await asyncio.sleep(0.01)
    assert seen == {"Slack": "sent", "Teams": "pending", "PagerDuty": "sent", "Webhook": "sent"}
    assert not dispatch.done()
    await receivers.http["Teams"].close()
    summary = await dispatch
    assert (summary.sent, summary.failed) == (3, 1)
    assert (await row_of(slow_ctx, "Teams")).status is NotificationStatus.FAILED


async def test_a_late_result_does_not_overwrite_the_next_claim(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """A dispatcher whose lease ran out cannot record over the row another one claimed since."""
    await make_cert(actx, policy=FOUR_CHANNELS)
    await actx.alerts.scan()
    now = clock.now()
    async with actx.runtime.db.uow() as uow:
        stale = await uow.notifications.claim_due(
            now=now, lease_until=now + timedelta(seconds=30), limit=1, retries=False
        )
    clock.advance(timedelta(minutes=1))
    assert (await actx.notifications.dispatch()).sent == 4
    [row] = stale
    late = after_attempt(row, Delivery(ok=False, detail="late failure"), clock.now())
    async with actx.runtime.db.uow() as uow:
        await uow.notifications.record_results([(late, now + timedelta(seconds=30))])
    assert (await row_of(actx, row.channel)).status is NotificationStatus.SENT


async def test_a_capped_slow_channel_holds_only_its_own_slots(
    database_url: str, receivers: Receivers, clock: FrozenClock
) -> None:
    """Teams capped at 1 and hanging: one Teams row in flight, the others unclaimed, Slack all sent."""
    settings = channel_settings(
        database_url,
        receivers,
        notification_timeout_seconds=60,
        notification_concurrency=2,
        notification_channel_concurrency={"Teams": 1},
    )
    ctx = build_context(settings, clock=clock)
    try:
        receivers.http["Teams"].hang()
        policy = {"alert_thresholds_days": [0], "alert_channels": {"critical": ["Teams", "Slack"]}}
        for name in ("cap-a", "cap-b", "cap-c"):
            await make_cert(ctx, policy=policy, name=name)
        await ctx.alerts.scan()
        dispatch = asyncio.create_task(ctx.notifications.dispatch())
        async with asyncio.timeout(30):
            await receivers.http["Slack"].wait_for(3)
        rows: list[tuple[str, str, bool]] = []
        for _ in range(500):
            page = await ctx.notifications.search(
                SYSTEM_CALLER, request=PageRequest(), filters=NotificationFilter()
            )
            rows = sorted(
                (r.channel, r.status.value, r.lease_until is not None) for r in page.items
            )
            if [status for channel, status, _ in rows if channel == "Slack"] == ["sent"] * 3:
                break
            await asyncio.sleep(0.01)
        assert rows == [
            ("Slack", "sent", False),
            ("Slack", "sent", False),
            ("Slack", "sent", False),
            ("Teams", "pending", False),
            ("Teams", "pending", False),
            ("Teams", "pending", True),
        ]
        assert len(receivers.http["Teams"].requests) == 1
        await receivers.http["Teams"].close()
        summary = await dispatch
    finally:
        await ctx.aclose()
    assert (summary.claimed, summary.sent, summary.failed) == (6, 3, 3)


def test_a_cap_for_an_unknown_channel_is_refused(database_url: str) -> None:
    """CERTCTL_NOTIFICATION_CHANNEL_CONCURRENCY names only real channels."""
    from certctl.errors import ConfigurationError
    from certctl.settings import load_settings

    with pytest.raises(ConfigurationError) as caught:
        load_settings(database_url=database_url, notification_channel_concurrency={"Pager": 3})
    assert "unknown channel 'Pager'" in caught.value.detail
