"""The Alerts pages: the list, one alert with its deliveries, acknowledge and resolve."""

from __future__ import annotations

from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.listing import PageRequest, SortKey
from certctl.services.alert_records import AlertFilter

from .conftest import Estate, SignedIn


async def only_alert_id(ctx: AppContext) -> str:
    page = await ctx.alert_records.search(
        SYSTEM_CALLER,
        request=PageRequest(),
        sort=SortKey("opened_at"),
        filters=AlertFilter(tier="critical"),
    )
    [alert] = page.items
    return alert.id


async def test_the_list_shows_open_alerts_with_their_certificate(
    estate: Estate, signed_in: SignedIn
) -> None:
    """A certificate at 0 days has four open expiry alerts (T-30 … T-0) listed by name."""
    await estate.certificate("shop", days_left=0.5)
    await estate.ctx.alerts.scan()
    browser = await signed_in("viewer")
    page = await browser.get("/alerts", kind="expiry")
    assert page.status_code == 200
    assert page.text.count('<tr data-id="al-') == 4
    assert page.text.count(">shop</a>") == 4


async def test_acknowledge_then_resolve_from_the_alert_page(
    estate: Estate, signed_in: SignedIn
) -> None:
    """An operator acknowledges, then resolves with a reason; the page says so each time."""
    await estate.certificate("shop", days_left=0.5)
    await estate.ctx.alerts.scan()
    alert_id = await only_alert_id(estate.ctx)
    browser = await signed_in("operator")
    acked = await browser.post(f"/alerts/{alert_id}/ack", {})
    assert (acked.status_code, acked.headers["location"]) == (
        303,
        f"/alerts/{alert_id}?flash=acknowledged",
    )
    resolved = await browser.post(f"/alerts/{alert_id}/resolve", {"reason": "moved to ACME"})
    assert resolved.status_code == 303
    page = await browser.get(resolved.headers["location"])
    assert "The alert is resolved." in page.text
    assert "moved to ACME" in page.text
    assert 'data-testid="ack"' not in page.text
    detail = await estate.ctx.alert_records.get(SYSTEM_CALLER, alert_id)
    assert (detail.alert.acknowledged_by, detail.alert.resolved_by) == (
        "operator-user",
        "operator-user",
    )


async def test_a_viewer_sees_no_controls(estate: Estate, signed_in: SignedIn) -> None:
    """Without write access the alert page has neither Acknowledge nor Resolve."""
    await estate.certificate("shop", days_left=0.5)
    await estate.ctx.alerts.scan()
    alert_id = await only_alert_id(estate.ctx)
    page = await (await signed_in("viewer")).get(f"/alerts/{alert_id}")
    assert page.status_code == 200
    assert 'data-testid="ack"' not in page.text
    assert 'data-testid="resolve"' not in page.text
