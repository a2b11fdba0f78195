"""The expiry scan's status moves and the loop lock shared by replicas."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from certctl.bootstrap import AppContext, build_context
from certctl.clock import FrozenClock
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.audit import AuditFilter
from certctl.domain.listing import PageRequest
from certctl.scheduler.loops import build_scheduler

from .conftest import Receivers, channel_settings, make_cert


async def test_status_moves_active_expiring_expired(actx: AppContext, clock: FrozenClock) -> None:
    """Active until the renewal window, Expiring inside it, Expired after; each move audited."""
    cert_id = await make_cert(actx, days=40, policy={"renewal_window_days": 30})
    statuses = []
    for advance in (timedelta(0), timedelta(days=15), timedelta(days=26)):
        clock.advance(advance)
        await actx.alerts.scan()
        statuses.append((await actx.certificates.get(SYSTEM_CALLER, cert_id)).status.value)
    assert statuses == ["Active", "Expiring", "Expired"]
    page = await actx.audit.search(
        SYSTEM_CALLER,
        request=PageRequest(),
        filters=AuditFilter(action="certificate_status_changed"),
    )
    assert [dict(e.details) for e in reversed(page.items)] == [
        {"from": "Active", "to": "Expiring"},
        {"from": "Expiring", "to": "Expired"},
    ]


@pytest.mark.parametrize("status", ["RenewalInProgress", "Failed"])
async def test_renewing_and_failed_certificates_still_alert(
    actx: AppContext, receivers: Receivers, status: str
) -> None:
    """A renewal in progress or failed does not silence expiry alerts (the reference's gap)."""
    cert_id = await make_cert(actx, days=3, policy={"alert_thresholds_days": [7]})
    await actx.certificates.update(SYSTEM_CALLER, cert_id, {"status": "RenewalInProgress"})
    if status == "Failed":
        await actx.certificates.update(SYSTEM_CALLER, cert_id, {"status": "Failed"})
    summary = await actx.alerts.scan()
    await actx.notifications.dispatch()
    assert (summary.alerts_enqueued, len(receivers.smtp.envelopes)) == (1, 1)
    assert (await actx.certificates.get(SYSTEM_CALLER, cert_id)).status.value == status


@pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
async def test_only_one_replica_runs_a_loop_tick(
    database_url: str, receivers: Receivers, clock: FrozenClock
) -> None:
    """While one replica holds the renewal loop's advisory lock, another replica skips it."""
    replicas = [
        build_context(channel_settings(database_url, receivers), clock=clock) for _ in range(2)
    ]
    try:
        other = build_scheduler(replicas[1])
        async with replicas[0].runtime.db.leader_lock("renewal") as held:
            assert held
            skipped = await other.run_once("renewal")
        ran = await other.run_once("renewal")
    finally:
        for ctx in replicas:
            await ctx.aclose()
    assert skipped == {"loop": "renewal", "skipped": "another replica holds this loop's lock"}
    assert ran["certificates_scanned"] == 0


async def test_expiring_certificate_whose_expiry_moved_out_is_active_again(
    actx: AppContext, clock: FrozenClock
) -> None:
    """Correcting expires_at far into the future turns an Expiring certificate Active."""
    cert_id = await make_cert(actx, days=10, policy={})
    await actx.alerts.scan()
    await actx.certificates.update(
        SYSTEM_CALLER, cert_id, {"expires_at": clock.now() + timedelta(days=200)}
    )
    summary = await actx.alerts.scan()
    assert summary.status_changes == 1
    assert (await actx.certificates.get(SYSTEM_CALLER, cert_id)).status.value == "Active"


_REFUSE_ON_POSTGRES = (
    """CREATE FUNCTION test_refuse_alert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.certificate_id = :refused THEN RAISE EXCEPTION 'alert refused'; END IF;
        RETURN NEW;
    END $$""",
    "CREATE TRIGGER test_refuse_alert BEFORE INSERT ON alerts "
    "FOR EACH ROW EXECUTE FUNCTION test_refuse_alert()",
)
_REFUSE_ON_SQLITE = (
    "CREATE TRIGGER test_refuse_alert BEFORE INSERT ON alerts "
    "WHEN NEW.certificate_id = :refused BEGIN SELECT RAISE(ABORT, 'alert refused'); END",
)


async def _sql(ctx: AppContext, *statements: str) -> None:
    async with ctx.runtime.db.engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))


async def test_a_failing_chunk_stops_the_scan_with_the_chunks_before_it_committed(
    actx: AppContext, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One certificate per chunk, the database refusing the second's alert: the scan fails,
    the first chunk's alert and status change stay, nothing of the second or third is kept."""
    monkeypatch.setattr("certctl.services.alerts.CHUNK", 1)
    for name, days in (("a", 1), ("b", 2), ("c", 3)):
        await make_cert(actx, days=days, name=name, policy={"alert_thresholds_days": [7]})
    async with actx.runtime.db.uow() as uow:
        order = [
            c.certificate.id
            for c in await uow.alert_candidates(until=clock.now() + timedelta(days=30))
        ]
    postgres = actx.runtime.db.backend == "postgresql"
    refusal = _REFUSE_ON_POSTGRES if postgres else _REFUSE_ON_SQLITE
    await _sql(actx, *(s.replace(":refused", f"'{order[1]}'") for s in refusal))
    try:
        with pytest.raises(DBAPIError, match="alert refused"):
            await actx.alerts.scan()
    finally:
        cleanup = ["DROP TRIGGER test_refuse_alert" + (" ON alerts" if postgres else "")]
        await _sql(actx, *cleanup, *(["DROP FUNCTION test_refuse_alert()"] if postgres else []))
    async with actx.runtime.db.engine.connect() as conn:
        alerted = (await conn.execute(text("SELECT certificate_id FROM alerts"))).scalars().all()
    statuses = [(await actx.certificates.get(SYSTEM_CALLER, i)).status.value for i in order]
    assert (alerted, statuses) == ([order[0]], ["Expiring", "Active", "Active"])
