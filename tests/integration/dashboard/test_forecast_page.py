"""The alert forecast page: a day per row with counts per tier, then each day's deliveries."""

from __future__ import annotations

import re

from .conftest import Estate, SignedIn


async def test_the_forecast_lists_each_day_with_its_deliveries(
    estate: Estate, signed_in: SignedIn
) -> None:
    """Seven days are listed with counts per tier; the two days with deliveries (T-30 and
    T-14 today, T-7 on day 3, each with its overdue alert) get a section each."""
    await estate.certificate("shop", days_left=10.5)
    browser = await signed_in("viewer")
    page = await browser.get("/alerts/forecast", days="7")
    assert page.status_code == 200
    assert page.text.count("<tr data-date=") == 7
    assert 'href="/alerts/forecast" aria-current="page"' in page.text
    total = re.search(r'data-testid="forecast-total">(\d+)<', page.text)
    assert total is not None
    assert int(total.group(1)) == 6
    counts = re.findall(r"<td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>", page.text)
    assert counts == [
        ("1", "3", "0"),
        *[("0", "0", "0")] * 2,
        ("0", "2", "0"),
        *[("0", "0", "0")] * 3,
    ]
    assert page.text.count('<section class="panel" id="day-') == 2
    assert page.text.count("(overdue)") == 3
    # The dashboard tests configure no SMTP server: every Email delivery would be skipped.
    assert page.text.count("skipped: Email is not configured") == 6


async def test_a_bad_horizon_is_refused(estate: Estate, signed_in: SignedIn) -> None:
    """A horizon past 90 days answers 400."""
    browser = await signed_in("viewer")
    page = await browser.get("/alerts/forecast", days="91")
    assert page.status_code == 400
