"""The alert forecast grouped by day, as the API, CLI, MCP tool and dashboard show it."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from certctl.domain.policies import SeverityTier
from certctl.services.alert_forecast import Forecast, ForecastEntry


def item_status(entry: ForecastEntry) -> str:
    """`silenced`, `held`, `skipped` (channel not configured) or `sends`: what the gates and
    then the dispatcher would do with it."""
    if entry.item.silence_id:
        return "silenced"
    if entry.item.held_until:
        return "held"
    return "sends" if entry.configured else "skipped"


def _item(entry: ForecastEntry) -> dict[str, Any]:
    item = entry.item
    return {
        "at": item.at,
        "kind": item.kind,
        "certificate_id": item.certificate_id,
        "certificate_name": entry.certificate_name,
        "threshold": item.threshold,
        "tier": item.tier,
        "channel": item.channel,
        "destination": entry.destination,
        "override_id": entry.override_id,
        "status": item_status(entry),
        "silence_id": item.silence_id,
        "held_until": item.held_until,
    }


def forecast_days(found: Forecast) -> dict[str, Any]:
    """Every day of the horizon (empty ones too) with its counts per tier and its items."""
    days = []
    for offset in range(found.days):
        day = (found.start + timedelta(days=offset)).date()
        entries = [e for e in found.entries if e.item.day == day]
        tiers = Counter(e.item.tier for e in entries)
        days.append(
            {
                "date": day.isoformat(),
                "counts": {t.value: tiers.get(t.value, 0) for t in SeverityTier},
                "items": [_item(e) for e in entries],
            }
        )
    return {
        "start": found.start,
        "days": found.days,
        "assumes_no_renewal": found.assumes_no_renewal,
        "total": len(found.entries),
        "forecast": days,
    }
