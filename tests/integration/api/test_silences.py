"""/api/v1/silences and /api/v1/quiet-hours: validation naming the field, audit, expire early."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from certctl.clock import FrozenClock

SILENCES = "/api/v1/silences"


def _at(clock: FrozenClock, hours: float) -> str:
    return (clock.now() + timedelta(hours=hours)).isoformat()


async def test_operator_creates_a_silence_recorded_with_its_author(
    make_client: Callable[[str | None], httpx.AsyncClient], clock: FrozenClock
) -> None:
    """A created silence starts now by default, names its author and is audited."""
    operator = make_client("operator")
    answer = await operator.post(
        SILENCES,
        json={"reason": "decommissioning web-01", "ends_at": _at(clock, 4), "tag": "host=web-01"},
    )
    assert answer.status_code == 201
    body = answer.json()
    assert (body["starts_at"], body["created_by"], body["tag"]) == (
        clock.now().isoformat().replace("+00:00", "Z"),
        "operator-user",
        "host=web-01",
    )
    audit = (await operator.get("/api/v1/audit", params={"action": "silence_created"})).json()
    assert [e["resource_id"] for e in audit["data"]] == [body["id"]]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"ends_at": "-1"}, "ends_at"),
        ({"ends_at": "24h*91"}, "ends_at"),
        ({"team_id": None}, "matchers"),
        ({"channel": "Pager"}, "channel"),
        ({"reason": ""}, "reason"),
        ({"ends_at": "2026-06-01T18:00:00"}, "ends_at"),
        ({"starts_at": "0001-01-01T00:00:00+01:00"}, "starts_at"),
    ],
)
async def test_bad_silences_are_refused_naming_the_field(
    api: httpx.AsyncClient, clock: FrozenClock, extra: dict[str, object], field: str
) -> None:
    """An end before the start, over 90 days, no matcher, a bad channel, no reason, a naive
    time or a year out of range is a 400 naming the field, and nothing is stored."""
    body: dict[str, object] = {"reason": "r", "ends_at": _at(clock, 2), "team_id": "t-x", **extra}
    if body["ends_at"] == "-1":
        body["ends_at"] = _at(clock, -1)
    elif body["ends_at"] == "24h*91":
        body["ends_at"] = _at(clock, 24 * 91)
    answer = await api.post(SILENCES, json=body)
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"][0]["field"].endswith(field)
    assert (await api.get(SILENCES)).json()["total"] == 0


async def test_edit_and_expire_early_are_audited(
    api: httpx.AsyncClient, clock: FrozenClock
) -> None:
    """Editing changes the end (audited with the change); expiring ends it now (audited)."""
    created = (
        await api.post(SILENCES, json={"reason": "r", "ends_at": _at(clock, 2), "team_id": "t-x"})
    ).json()
    edited = await api.patch(f"{SILENCES}/{created['id']}", json={"ends_at": _at(clock, 3)})
    assert edited.status_code == 200
    clock.advance(timedelta(minutes=10))
    expired = await api.post(f"{SILENCES}/{created['id']}/expire")
    assert expired.status_code == 200
    assert expired.json()["ends_at"] == clock.now().isoformat().replace("+00:00", "Z")
    again = await api.post(f"{SILENCES}/{created['id']}/expire")
    assert again.status_code == 409
    actions = [
        e["action"]
        for e in (await api.get("/api/v1/audit", params={"resource_id": created["id"]})).json()[
            "data"
        ]
    ]
    # The refused second expiry is audited too, as every failed mutating call is.
    assert actions == [
        "silences_create_failed",
        "silence_expired",
        "silence_updated",
        "silence_created",
    ]


async def test_quiet_hours_refuse_an_unknown_zone(api: httpx.AsyncClient) -> None:
    """A quiet window in an unknown IANA zone is a 400 naming `timezone`."""
    answer = await api.post(
        "/api/v1/quiet-hours",
        json={
            "name": "nights",
            "channel": "Slack",
            "weekdays": ["mon"],
            "start": "22:00",
            "end": "07:00",
            "timezone": "Europe/Atlantis",
        },
    )
    assert answer.status_code == 400
    assert answer.json()["field"] == "timezone"


async def test_quiet_hours_round_trip(api: httpx.AsyncClient) -> None:
    """A valid quiet window is stored and listed as given."""
    body = {
        "name": "slack nights",
        "channel": "Slack",
        "weekdays": ["mon", "tue"],
        "start": "22:00",
        "end": "07:00",
        "timezone": "Europe/Berlin",
    }
    created = await api.post("/api/v1/quiet-hours", json=body)
    assert created.status_code == 201
    listed = (await api.get("/api/v1/quiet-hours")).json()["data"]
    assert [{k: q[k] for k in body} for q in listed] == [body]
