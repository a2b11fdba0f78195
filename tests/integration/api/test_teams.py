"""Teams through the REST API: the standard CRUD shape every inventory resource shares."""

from __future__ import annotations

import httpx


async def test_create_team_returns_201_with_location_and_generated_id(
    api: httpx.AsyncClient,
) -> None:
    """A created team gets a `t-` id, a Location header and echoes its fields."""
    response = await api.post("/api/v1/teams", json={"name": "Platform", "description": "edge"})
    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("t-")
    assert len(body["id"]) == 28
    assert response.headers["location"] == f"/api/v1/teams/{body['id']}"
    assert (body["name"], body["description"]) == ("Platform", "edge")


async def test_duplicate_team_name_is_409_and_creates_nothing(api: httpx.AsyncClient) -> None:
    """A second team with the same name is a conflict and the list still holds one."""
    await api.post("/api/v1/teams", json={"name": "Platform"})
    response = await api.post("/api/v1/teams", json={"name": "Platform"})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    listed = (await api.get("/api/v1/teams")).json()
    assert listed["total"] == 1
