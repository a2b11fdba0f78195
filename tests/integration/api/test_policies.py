"""Renewal policies: the alert matrix is stored as given and off-enum values are refused."""

from __future__ import annotations

import httpx
import pytest

MATRIX = {
    "informational": ["Slack"],
    "warning": ["Slack", "Email"],
    "critical": ["PagerDuty", "OpsGenie", "Email"],
}


async def test_defaults_apply_when_fields_are_omitted(api: httpx.AsyncClient) -> None:
    """A policy with only a name gets the documented defaults."""
    body = (await api.post("/api/v1/renewal-policies", json={"name": "p"})).json()
    assert body["renewal_window_days"] == 30
    assert body["auto_renew"] is True
    assert body["max_retries"] == 3
    assert body["retry_interval_seconds"] == 3600
    assert body["alert_thresholds_days"] == [30, 14, 7, 0]
    assert body["alert_channels"] == {}
    assert body["alert_severity_map"] == {}


async def test_matrix_and_severity_map_round_trip(api: httpx.AsyncClient) -> None:
    """The channel matrix and per-threshold tiers come back exactly as written."""
    created = await api.post(
        "/api/v1/renewal-policies",
        json={"name": "p", "alert_channels": MATRIX, "alert_severity_map": {"1": "critical"}},
    )
    assert created.status_code == 201
    fetched = (await api.get(f"/api/v1/renewal-policies/{created.json()['id']}")).json()
    assert fetched["alert_channels"] == MATRIX
    assert fetched["alert_severity_map"] == {"1": "critical"}


@pytest.mark.parametrize(
    ("body", "field", "bad"),
    [
        ({"alert_channels": {"critical": ["PagerD"]}}, "alert_channels.critical[0]", "'PagerD'"),
        ({"alert_channels": {"urgent": ["Email"]}}, "alert_channels.urgent", "'urgent'"),
        ({"alert_channels": {"warning": ["email"]}}, "alert_channels.warning[0]", "'email'"),
        ({"alert_severity_map": {"7": "sev1"}}, "alert_severity_map.7", "'sev1'"),
        ({"alert_thresholds_days": [30, 400]}, "alert_thresholds_days[1]", "400"),
        ({"alert_thresholds_days": [7, 7]}, "alert_thresholds_days", "unique"),
        ({"renewal_window_days": 0}, "renewal_window_days", "0"),
        ({"max_retries": 11}, "max_retries", "11"),
        ({"retry_interval_seconds": 59}, "retry_interval_seconds", "59"),
    ],
)
async def test_invalid_policy_is_400_naming_field_and_value(
    api: httpx.AsyncClient, body: dict[str, object], field: str, bad: str
) -> None:
    """Off-enum tiers and channels and out-of-range numbers are refused; nothing is stored."""
    response = await api.post("/api/v1/renewal-policies", json={"name": "p", **body})
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert bad in response.json()["detail"]
    assert (await api.get("/api/v1/renewal-policies")).json()["total"] == 0


async def test_invalid_update_leaves_the_policy_unchanged(api: httpx.AsyncClient) -> None:
    """A rejected matrix edit does not touch the stored matrix."""
    created = (
        await api.post("/api/v1/renewal-policies", json={"name": "p", "alert_channels": MATRIX})
    ).json()
    response = await api.patch(
        f"/api/v1/renewal-policies/{created['id']}",
        json={"alert_channels": {"critical": ["Pager"]}},
    )
    assert response.status_code == 400
    assert (await api.get(f"/api/v1/renewal-policies/{created['id']}")).json() == created


async def test_policy_referencing_unknown_profile_is_400(api: httpx.AsyncClient) -> None:
    """certificate_profile_id must name an existing profile."""
    response = await api.post(
        "/api/v1/renewal-policies", json={"name": "p", "certificate_profile_id": "cp-none"}
    )
    assert response.status_code == 400
    assert response.json()["field"] == "certificate_profile_id"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"allowed_key_algorithms": [{"algorithm": "DSA", "min_size": 2048}]},
            "allowed_key_algorithms[0].algorithm",
        ),
        ({"allowed_ekus": ["serverAuth", "doorOpening"]}, "allowed_ekus[1]"),
        ({"required_san_patterns": ["(unclosed"]}, "required_san_patterns[0]"),
        ({"max_ttl_seconds": -1}, "max_ttl_seconds"),
    ],
)
async def test_invalid_profile_is_400_naming_the_field(
    api: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    """Profiles refuse unknown algorithms and EKUs, broken patterns and negative TTLs."""
    response = await api.post("/api/v1/profiles", json={"name": "p", **body})
    assert response.status_code == 400
    assert response.json()["field"] == field


async def test_profile_defaults(api: httpx.AsyncClient) -> None:
    """A bare profile allows ECDSA ≥ 256 and RSA ≥ 2048 for serverAuth, no TTL limit."""
    body = (await api.post("/api/v1/profiles", json={"name": "p"})).json()
    assert body["allowed_key_algorithms"] == [
        {"algorithm": "ECDSA", "min_size": 256},
        {"algorithm": "RSA", "min_size": 2048},
    ]
    assert body["allowed_ekus"] == ["serverAuth"]
    assert (body["max_ttl_seconds"], body["requires_approval"]) == (0, False)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/renewal-policies", {"alert_thresholds_days": [True]}, "alert_thresholds_days.0"),
        ("/api/v1/renewal-policies", {"alert_thresholds_days": ["30"]}, "alert_thresholds_days.0"),
        ("/api/v1/renewal-policies", {"alert_thresholds_days": [7.0]}, "alert_thresholds_days.0"),
        ("/api/v1/renewal-policies", {"renewal_window_days": "30"}, "renewal_window_days"),
        ("/api/v1/renewal-policies", {"max_retries": True}, "max_retries"),
        ("/api/v1/renewal-policies", {"retry_interval_seconds": "3600"}, "retry_interval_seconds"),
        ("/api/v1/renewal-policies", {"auto_renew": "true"}, "auto_renew"),
        ("/api/v1/renewal-policies", {"auto_renew": 1}, "auto_renew"),
        ("/api/v1/renewal-policies", {"alert_severity_map": {"7": 1}}, "alert_severity_map.7"),
        (
            "/api/v1/renewal-policies",
            {"alert_channels": {"critical": [1]}},
            "alert_channels.critical.0",
        ),
        ("/api/v1/profiles", {"max_ttl_seconds": "86400"}, "max_ttl_seconds"),
        ("/api/v1/profiles", {"max_ttl_seconds": True}, "max_ttl_seconds"),
        ("/api/v1/profiles", {"requires_approval": "yes"}, "requires_approval"),
        ("/api/v1/profiles", {"requires_approval": 0}, "requires_approval"),
        ("/api/v1/profiles", {"must_staple": "false"}, "must_staple"),
        ("/api/v1/profiles", {"allow_short_lived": 1}, "allow_short_lived"),
        (
            "/api/v1/profiles",
            {"allowed_key_algorithms": [{"algorithm": "RSA", "min_size": "2048"}]},
            "allowed_key_algorithms.0.min_size",
        ),
        ("/api/v1/profiles", {"allowed_ekus": [True]}, "allowed_ekus.0"),
    ],
)
async def test_policy_fields_are_strictly_typed(
    api: httpx.AsyncClient, path: str, body: dict[str, object], field: str
) -> None:
    """A boolean or a string where a number is due (and the reverse) is 400; nothing is stored."""
    response = await api.post(path, json={"name": "p", **body})
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert (await api.get(path)).json()["total"] == 0


async def test_escalation_fields_round_trip_and_clear(api: httpx.AsyncClient) -> None:
    """Escalation delay and channels come back as written; null minutes and no channels
    clear them."""
    created = await api.post(
        "/api/v1/renewal-policies",
        json={
            "name": "p",
            "escalation_after_minutes": 30,
            "escalation_channels": ["PagerDuty", "OpsGenie"],
        },
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["escalation_after_minutes"], body["escalation_channels"]) == (
        30,
        ["PagerDuty", "OpsGenie"],
    )
    cleared = await api.patch(
        f"/api/v1/renewal-policies/{body['id']}",
        json={"escalation_after_minutes": None, "escalation_channels": []},
    )
    assert cleared.status_code == 200
    assert (cleared.json()["escalation_after_minutes"], cleared.json()["escalation_channels"]) == (
        None,
        [],
    )


@pytest.mark.parametrize(
    ("body", "field", "bad"),
    [
        (
            {"escalation_after_minutes": 0, "escalation_channels": ["Email"]},
            "escalation_after_minutes",
            "got 0",
        ),
        (
            {"escalation_after_minutes": 10081, "escalation_channels": ["Email"]},
            "escalation_after_minutes",
            "got 10081",
        ),
        (
            {"escalation_after_minutes": 5, "escalation_channels": ["Pager"]},
            "escalation_channels[0]",
            "'Pager'",
        ),
        ({"escalation_after_minutes": 5}, "escalation_channels", "required"),
        ({"escalation_channels": ["Email"]}, "escalation_after_minutes", "required"),
        (
            {"escalation_after_minutes": 5, "escalation_channels": ["Email", "Email"]},
            "escalation_channels",
            "twice",
        ),
    ],
)
async def test_invalid_escalation_is_400_naming_the_field(
    api: httpx.AsyncClient, body: dict[str, object], field: str, bad: str
) -> None:
    """Out-of-range minutes, unknown channels and half a setting are refused; nothing stored."""
    response = await api.post("/api/v1/renewal-policies", json={"name": "p", **body})
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert bad in response.json()["detail"]
    assert (await api.get("/api/v1/renewal-policies")).json()["total"] == 0
