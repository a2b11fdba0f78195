"""Per-owner digests (C3): one e-mail per owner and day of what needs action, opt-in,
counted at a real SMTP server under a frozen clock (2026-06-01 12:00 UTC, a Monday)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock
from certctl.db.repositories.notifications import NotificationFilter
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.listing import PageRequest, SortKey
from certctl.services.alert_records import AlertFilter
from certctl.services.owner_digests import send_owner_digests

from .conftest import Receivers, make_cert

CRITICAL_TO_SLACK = {
    "alert_thresholds_days": [0],
    "alert_channels": {"critical": ["Slack"]},
    "auto_renew": False,
}


async def digest_mails(receivers: Receivers) -> list[str]:
    return [m.message["Subject"] for m in receivers.smtp.envelopes]


async def test_one_digest_per_owner_per_day_with_exact_contents(
    actx: AppContext, receivers: Receivers, clock: FrozenClock
) -> None:
    """A daily owner with one open critical alert gets one digest today, none on a second
    pass, none before 08:00 tomorrow and the next one at 08:00."""
    cert_id = await make_cert(actx, days=0.5, policy=CRITICAL_TO_SLACK)
    await actx.owners.update(SYSTEM_CALLER, "o-alice", {"digest": "daily"})
    await actx.alerts.scan()
    [alert] = (
        await actx.alert_records.search(
            SYSTEM_CALLER,
            request=PageRequest(),
            sort=SortKey("opened_at"),
            filters=AlertFilter(certificate_id=cert_id),
        )
    ).items
    first = await send_owner_digests(actx.runtime)
    again = await send_owner_digests(actx.runtime)
    await actx.notifications.dispatch()
    assert (first.digests_queued, first.owner_ids, again.digests_queued) == (1, ["o-alice"], 0)
    subject = "certctl digest for Alice (2026-06-01): 1 to act on"
    assert await digest_mails(receivers) == [subject]
    [mail] = receivers.smtp.envelopes
    assert mail.rcpt_tos == ("alice@example.com",)
    rows = await actx.notifications.search(
        SYSTEM_CALLER, request=PageRequest(), filters=NotificationFilter(kind="digest")
    )
    [row] = rows.items
    assert row.message.splitlines() == [
        subject,
        "",
        "Open critical alerts (1):",
        f"- {alert.subject} ({alert.id})",
        "",
        "Failed renewals (0):",
        "- none",
        "",
        "Pending approvals (0):",
        "- none",
        "",
        "Details: https://certctl.example.com/alerts?owner_id=o-alice",
    ]
    clock.set(datetime(2026, 6, 2, 7, 59, tzinfo=UTC))
    assert (await send_owner_digests(actx.runtime)).digests_queued == 0
    clock.advance(timedelta(minutes=1))
    assert (await send_owner_digests(actx.runtime)).digests_queued == 1
    await actx.notifications.dispatch()
    assert (await digest_mails(receivers))[
        1
    ] == "certctl digest for Alice (2026-06-02): 1 to act on"


async def test_no_digest_for_an_owner_who_opted_out(actx: AppContext, receivers: Receivers) -> None:
    """An owner left at `off` gets nothing, even with an open critical alert."""
    await make_cert(actx, days=0.5, policy=CRITICAL_TO_SLACK)
    await actx.alerts.scan()
    summary = await send_owner_digests(actx.runtime)
    await actx.notifications.dispatch()
    assert (summary.owners_considered, summary.digests_queued) == (0, 0)
    assert receivers.smtp.envelopes == []


async def test_no_digest_when_nothing_needs_action(actx: AppContext, receivers: Receivers) -> None:
    """A daily owner whose certificates raise no alert gets no digest."""
    await make_cert(actx, days=200, policy=CRITICAL_TO_SLACK)
    await actx.owners.update(SYSTEM_CALLER, "o-alice", {"digest": "daily"})
    await actx.alerts.scan()
    summary = await send_owner_digests(actx.runtime)
    await actx.notifications.dispatch()
    assert (summary.owners_considered, summary.nothing_to_act_on, summary.digests_queued) == (
        1,
        1,
        0,
    )
    assert receivers.smtp.envelopes == []


async def test_a_job_awaiting_approval_is_listed_in_the_digest(
    actx: AppContext, receivers: Receivers
) -> None:
    """A weekly owner on Monday 12:00 gets the pending approval as its only line."""
    cert_id = await make_cert(actx, days=200, policy=CRITICAL_TO_SLACK)
    await actx.owners.update(SYSTEM_CALLER, "o-alice", {"digest": "weekly"})
    await actx.profiles.create(
        SYSTEM_CALLER, {"id": "cp-approve", "name": "Needs approval", "requires_approval": True}
    )
    await actx.issuers.create(
        SYSTEM_CALLER, {"id": "iss-local", "name": "Local CA", "type": "GenericCA"}
    )
    await actx.certificates.update(
        SYSTEM_CALLER, cert_id, {"certificate_profile_id": "cp-approve", "issuer_id": "iss-local"}
    )
    job = await actx.jobs.request_renewal(SYSTEM_CALLER, cert_id)
    assert job.status.value == "AwaitingApproval"
    summary = await send_owner_digests(actx.runtime)
    rows = await actx.notifications.search(
        SYSTEM_CALLER, request=PageRequest(), filters=NotificationFilter(kind="digest")
    )
    [row] = rows.items
    assert summary.owner_ids == ["o-alice"]
    assert row.subject == "certctl digest for Alice (2026-W23): 1 to act on"
    assert row.message.splitlines()[2:10] == [
        "Open critical alerts (0):",
        "- none",
        "",
        "Failed renewals (0):",
        "- none",
        "",
        "Pending approvals (1):",
        f"- api-prod: {job.type.value} {job.id}",
    ]
