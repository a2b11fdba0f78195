"""The eight routing-matrix scenarios of SPEC C2, counted at real receivers."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import generate_latest
from sqlalchemy import text

from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.audit import AuditFilter
from certctl.domain.listing import PageRequest
from certctl.services.notifications import NotificationFilter

from .conftest import Receivers, make_cert

FAN_OUT = {
    "informational": ["Slack"],
    "warning": ["Slack", "Email"],
    "critical": ["PagerDuty", "OpsGenie", "Email"],
}
NONE = {"Slack": 0, "Teams": 0, "PagerDuty": 0, "OpsGenie": 0, "Webhook": 0, "Email": 0}


async def run_tick(ctx: AppContext) -> None:
    """One expiry scan followed by one dispatch, as the loops would do."""
    await ctx.alerts.scan()
    await ctx.notifications.dispatch()


async def audit_rows(ctx: AppContext, action: str) -> list[dict[str, object]]:
    page = await ctx.audit.search(
        SYSTEM_CALLER, request=PageRequest(per_page=500), filters=AuditFilter(action=action)
    )
    return [dict(e.details) for e in page.items]


def metrics(ctx: AppContext) -> str:
    return generate_latest(ctx.metrics.registry).decode()


async def test_default_matrix_email_only(actx: AppContext, receivers: Receivers) -> None:
    """DefaultMatrix_EmailOnly: a policy without a matrix sends Email at all four thresholds."""
    await make_cert(actx, policy={})
    await run_tick(actx)
    assert receivers.counts() == {**NONE, "Email": 4}
    assert {m.rcpt_tos for m in receivers.smtp.envelopes} == {("alice@example.com",)}


async def test_per_tier_fan_out(actx: AppContext, receivers: Receivers) -> None:
    """PerTierFanOut: Slack=3, Email=3, PagerDuty=1, OpsGenie=1, Teams=0, Webhook=0."""
    await make_cert(actx, policy={"alert_channels": FAN_OUT})
    await run_tick(actx)
    assert receivers.counts() == {**NONE, "Slack": 3, "Email": 3, "PagerDuty": 1, "OpsGenie": 1}
    page = await actx.notifications.search(
        SYSTEM_CALLER, request=PageRequest(per_page=50), filters=NotificationFilter(status="sent")
    )
    assert page.total == 8
    assert {e.attempts for e in page.items} == {1}
    sent = await audit_rows(actx, "expiration_alert_sent")
    assert sorted((d["channel"], d["threshold_days"], d["severity_tier"]) for d in sent) == [
        ("Email", 0, "critical"),
        ("Email", 7, "warning"),
        ("Email", 14, "warning"),
        ("OpsGenie", 0, "critical"),
        ("PagerDuty", 0, "critical"),
        ("Slack", 7, "warning"),
        ("Slack", 14, "warning"),
        ("Slack", 30, "informational"),
    ]
    assert {d["days_until_expiry"] for d in sent} == {0}


async def test_per_channel_dedup(actx: AppContext, receivers: Receivers) -> None:
    """PerChannelDedup: a second pass sends nothing new and counts every decision as deduped."""
    await make_cert(actx, policy={"alert_channels": FAN_OUT})
    await run_tick(actx)
    second = await actx.alerts.scan()
    await actx.notifications.dispatch()
    assert (second.alerts_enqueued, second.deduped) == (0, 8)
    assert receivers.counts() == {**NONE, "Slack": 3, "Email": 3, "PagerDuty": 1, "OpsGenie": 1}
    assert (
        'certctl_expiry_alerts_total{channel="Slack",result="deduped",threshold="30"} 1.0'
        in metrics(actx)
    )


async def test_one_channel_fails_others_still_fire(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """OneChannelFails_OthersStillFire: PagerDuty 503 delays only PagerDuty, retried a minute later."""
    receivers.http["PagerDuty"].fail_next(1, status=503)
    await make_cert(actx, policy={"alert_channels": FAN_OUT})
    await run_tick(actx)
    assert receivers.counts() == {**NONE, "Slack": 3, "Email": 3, "PagerDuty": 1, "OpsGenie": 1}
    failed = await actx.notifications.search(
        SYSTEM_CALLER, request=PageRequest(), filters=NotificationFilter(status="failed")
    )
    [row] = failed.items
    assert (row.channel, row.attempts) == ("PagerDuty", 1)
    assert str(row.last_error).startswith("PagerDuty answered 503")
    assert row.next_retry_at == clock.now() + timedelta(minutes=1)
    clock.advance(timedelta(minutes=1))
    retried = await actx.notifications.dispatch(retries=True)
    assert (retried.claimed, retried.sent) == (1, 1)
    assert receivers.counts()["PagerDuty"] == 2
    delivered = await actx.notifications.get(SYSTEM_CALLER, row.id)
    assert (delivered.status.value, delivered.attempts) == ("sent", 2)


async def test_off_enum_channel_dropped(actx: AppContext, receivers: Receivers) -> None:
    """OffEnumChannelDropped: a stored "PagerD" is dropped with an audit row; Slack still fires."""
    cert_id = await make_cert(actx, policy={"alert_thresholds_days": [0]})
    async with actx.runtime.db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE renewal_policies SET alert_channels = :m"),
            {"m": '{"critical": ["PagerD", "Slack"]}'},
        )
    summary = await actx.alerts.scan()
    await actx.notifications.dispatch()
    assert (summary.alerts_enqueued, summary.invalid_channels) == (1, 1)
    assert receivers.counts() == {**NONE, "Slack": 1}
    dropped = await audit_rows(actx, "expiration_alert_skipped_invalid_channel")
    assert dropped == [
        {
            "threshold_days": 0,
            "days_until_expiry": 0,
            "severity_tier": "critical",
            "invalid_channel": "PagerD",
        }
    ]
    assert 'PagerD"' not in metrics(actx)
    assert cert_id == "mc-api-prod"


async def test_metric_counter_increments(actx: AppContext, receivers: Receivers) -> None:
    """MetricCounterIncrements: success counters for Slack/30, Email/14 and PagerDuty/0."""
    matrix = {"informational": ["Slack"], "warning": ["Email"], "critical": ["PagerDuty"]}
    await make_cert(actx, policy={"alert_thresholds_days": [30, 14, 0], "alert_channels": matrix})
    await run_tick(actx)
    text_ = metrics(actx)
    for channel, threshold in (("Slack", 30), ("Email", 14), ("PagerDuty", 0)):
        line = f'certctl_expiry_alerts_total{{channel="{channel}",result="success",threshold="{threshold}"}} 1.0'
        assert line in text_
    assert 'result="failure"' not in text_


async def test_nil_policy_falls_to_default(actx: AppContext, receivers: Receivers) -> None:
    """NilPolicy_FallsToDefault: a certificate without a policy gets Email at 30/14/7/0."""
    await make_cert(actx, policy=None)
    await run_tick(actx)
    assert receivers.counts() == {**NONE, "Email": 4}


async def test_operator_opt_out_of_tier(actx: AppContext, receivers: Receivers) -> None:
    """OperatorOptOutOfTier: `informational: []` silences T-30 with an audit row."""
    matrix = {"informational": [], "warning": ["Email"], "critical": ["PagerDuty"]}
    await make_cert(actx, policy={"alert_channels": matrix})
    summary = await actx.alerts.scan()
    await actx.notifications.dispatch()
    assert receivers.counts() == {**NONE, "Email": 2, "PagerDuty": 1}
    assert summary.skipped_no_channels == 1
    skipped = await audit_rows(actx, "expiration_alert_skipped_no_channels")
    assert skipped == [
        {"threshold_days": 30, "days_until_expiry": 0, "severity_tier": "informational"}
    ]
