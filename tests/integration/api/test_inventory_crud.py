"""The seven inventory resources share one CRUD shape: create, read, list, update, delete."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest


@dataclass(frozen=True)
class Resource:
    """One inventory endpoint, a valid body, a field to change and its id prefix."""

    path: str
    body: dict[str, Any]
    change: dict[str, Any]
    prefix: str


RESOURCES = [
    Resource("teams", {"name": "Platform"}, {"description": "edge"}, "t-"),
    Resource(
        "owners", {"name": "Alice", "email": "alice@example.com"}, {"email": "al@example.org"}, "o-"
    ),
    Resource("renewal-policies", {"name": "Default"}, {"renewal_window_days": 21}, "rp-"),
    Resource("profiles", {"name": "TLS"}, {"max_ttl_seconds": 86400}, "cp-"),
    Resource("issuers", {"name": "Local", "type": "GenericCA"}, {"enabled": False}, "iss-"),
    Resource(
        "targets",
        {
            "name": "edge",
            "type": "NGINX",
            "config": {"cert_path": "/etc/nginx/tls/a.crt", "key_path": "/etc/nginx/tls/a.key"},
        },
        {"enabled": False},
        "tgt-",
    ),
    Resource("agent-groups", {"name": "linux"}, {"match_os": "linux"}, "ag-"),
]
IDS = [r.path for r in RESOURCES]


@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
async def test_created_resource_reads_back_identically(
    api: httpx.AsyncClient, resource: Resource
) -> None:
    """GET by id returns exactly what POST answered."""
    created = await api.post(f"/api/v1/{resource.path}", json=resource.body)
    assert created.status_code == 201
    assert created.json()["id"].startswith(resource.prefix)
    fetched = await api.get(f"/api/v1/{resource.path}/{created.json()['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == created.json()


@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
async def test_client_chosen_id_is_kept(api: httpx.AsyncClient, resource: Resource) -> None:
    """A client may pick the id on create."""
    created = await api.post(f"/api/v1/{resource.path}", json={"id": "my-id-1", **resource.body})
    assert created.status_code == 201
    assert created.json()["id"] == "my-id-1"


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
async def test_update_changes_only_the_sent_fields(
    api: httpx.AsyncClient, resource: Resource, method: str
) -> None:
    """A partial update changes the sent field, keeps the others and bumps updated_at."""
    created = (await api.post(f"/api/v1/{resource.path}", json=resource.body)).json()
    response = await api.request(
        method, f"/api/v1/{resource.path}/{created['id']}", json=resource.change
    )
    assert response.status_code == 200
    updated = response.json()
    for key, value in resource.change.items():
        assert updated[key] == value
    assert updated["name"] == created["name"]
    assert updated["created_at"] == created["created_at"]


@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
async def test_delete_removes_the_resource(api: httpx.AsyncClient, resource: Resource) -> None:
    """DELETE answers 204 and the id is then unknown."""
    created = (await api.post(f"/api/v1/{resource.path}", json=resource.body)).json()
    deleted = await api.delete(f"/api/v1/{resource.path}/{created['id']}")
    assert deleted.status_code == 204
    assert (await api.get(f"/api/v1/{resource.path}/{created['id']}")).status_code == 404


@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
async def test_unknown_id_is_404_problem(api: httpx.AsyncClient, resource: Resource) -> None:
    """Reading, updating or deleting an unknown id is a 404 problem naming the id."""
    for method in ("GET", "PATCH", "DELETE"):
        response = await api.request(
            method, f"/api/v1/{resource.path}/nope-1", json={} if method == "PATCH" else None
        )
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert "'nope-1'" in response.json()["detail"]


@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
async def test_unknown_field_is_refused_naming_it(
    api: httpx.AsyncClient, resource: Resource
) -> None:
    """An unexpected body field is a 400 naming that field, and nothing is created."""
    response = await api.post(f"/api/v1/{resource.path}", json={**resource.body, "colour": "red"})
    assert response.status_code == 400
    assert response.json()["field"] == "colour"
    assert (await api.get(f"/api/v1/{resource.path}")).json()["total"] == 0


@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
async def test_wrong_type_is_refused_naming_the_field(
    api: httpx.AsyncClient, resource: Resource
) -> None:
    """A name that is not a string is a 400 naming `name`."""
    response = await api.post(f"/api/v1/{resource.path}", json={**resource.body, "name": 12})
    assert response.status_code == 400
    assert response.json()["field"] == "name"


@pytest.mark.parametrize("resource", RESOURCES, ids=IDS)
async def test_null_for_a_required_field_is_refused(
    api: httpx.AsyncClient, resource: Resource
) -> None:
    """Sending null for `name` on update is a 400 naming `name` and changes nothing."""
    created = (await api.post(f"/api/v1/{resource.path}", json=resource.body)).json()
    response = await api.patch(f"/api/v1/{resource.path}/{created['id']}", json={"name": None})
    assert response.status_code == 400
    assert response.json()["field"] == "name"
    assert (await api.get(f"/api/v1/{resource.path}/{created['id']}")).json() == created


async def test_list_pages_with_true_total_and_sorts(api: httpx.AsyncClient) -> None:
    """Paging returns the requested slice with the true total, sorted as asked."""
    for name in ["delta", "alpha", "charlie", "bravo", "echo"]:
        await api.post("/api/v1/teams", json={"name": name})
    page = (await api.get("/api/v1/teams?per_page=2&page=2&sort=-name")).json()
    assert [t["name"] for t in page["data"]] == ["charlie", "bravo"]
    assert (page["total"], page["page"], page["per_page"]) == (5, 2, 2)


async def test_list_search_matches_substring_case_insensitively(api: httpx.AsyncClient) -> None:
    """`q` filters by a case-insensitive substring of the name."""
    for name in ["Payments", "Platform", "Security"]:
        await api.post("/api/v1/teams", json={"name": name})
    page = (await api.get("/api/v1/teams?q=PLAT")).json()
    assert [t["name"] for t in page["data"]] == ["Platform"]


async def test_list_filters_owners_by_team(api: httpx.AsyncClient) -> None:
    """`team_id` narrows the owner list to that team."""
    await api.post("/api/v1/teams", json={"id": "t-a", "name": "A"})
    await api.post("/api/v1/owners", json={"name": "x", "email": "x@example.com", "team_id": "t-a"})
    await api.post("/api/v1/owners", json={"name": "y", "email": "y@example.com"})
    page = (await api.get("/api/v1/owners?team_id=t-a")).json()
    assert [o["name"] for o in page["data"]] == ["x"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("per_page=501", "per_page"),
        ("per_page=0", "per_page"),
        ("page=0", "page"),
        ("sort=colour", "sort"),
    ],
)
async def test_bad_paging_or_sort_is_400_naming_the_parameter(
    api: httpx.AsyncClient, query: str, field: str
) -> None:
    """Out-of-range paging and unknown sort fields are refused, not clamped."""
    response = await api.get(f"/api/v1/teams?{query}")
    assert response.status_code == 400
    assert response.json()["field"] == field


async def test_owner_with_unknown_team_is_400_naming_team_id(api: httpx.AsyncClient) -> None:
    """A reference to a missing team is refused naming `team_id`."""
    response = await api.post(
        "/api/v1/owners", json={"name": "x", "email": "x@example.com", "team_id": "t-missing"}
    )
    assert response.status_code == 400
    assert response.json()["field"] == "team_id"
    assert "'t-missing'" in response.json()["detail"]


async def test_owner_with_bad_email_is_400_naming_email(api: httpx.AsyncClient) -> None:
    """An address with a header-breaking character is refused."""
    response = await api.post(
        "/api/v1/owners", json={"name": "x", "email": "x@example.com\r\nBcc: y@evil.test"}
    )
    assert response.status_code == 400
    assert response.json()["field"] == "email"


async def test_deleting_a_referenced_team_is_409_and_keeps_it(api: httpx.AsyncClient) -> None:
    """A team that an owner still belongs to cannot be deleted."""
    await api.post("/api/v1/teams", json={"id": "t-a", "name": "A"})
    await api.post("/api/v1/owners", json={"name": "x", "email": "x@example.com", "team_id": "t-a"})
    response = await api.delete("/api/v1/teams/t-a")
    assert response.status_code == 409
    assert (await api.get("/api/v1/teams/t-a")).status_code == 200


async def test_agent_group_with_bad_cidr_is_400_naming_it(api: httpx.AsyncClient) -> None:
    """An unparsable CIDR is refused naming `match_ip_cidr`."""
    response = await api.post(
        "/api/v1/agent-groups", json={"name": "g", "match_ip_cidr": "10.0.0.0/33"}
    )
    assert response.status_code == 400
    assert response.json()["field"] == "match_ip_cidr"


async def test_agent_group_with_unknown_member_is_400_naming_the_index(
    api: httpx.AsyncClient,
) -> None:
    """Manual members must be registered agents."""
    response = await api.post(
        "/api/v1/agent-groups", json={"name": "g", "member_agent_ids": ["a-missing"]}
    )
    assert response.status_code == 400
    assert response.json()["field"] == "member_agent_ids[0]"


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_null_member_list_is_refused_and_changes_nothing(
    api: httpx.AsyncClient, method: str
) -> None:
    """member_agent_ids: null is a 400 naming the field, never a stored null and a 500."""
    await api.post("/api/v1/agent-groups", json={"id": "ag-web", "name": "web"})
    response = await api.request(
        method, "/api/v1/agent-groups/ag-web", json={"member_agent_ids": None}
    )
    assert (response.status_code, response.json()["field"]) == (400, "member_agent_ids")
    after = await api.get("/api/v1/agent-groups/ag-web")
    assert (after.status_code, after.json()["member_agent_ids"]) == (200, [])


async def test_owner_digest_defaults_to_off_and_is_set_by_patch(api: httpx.AsyncClient) -> None:
    """A new owner has no digest; PATCH digest=weekly stores it."""
    created = await api.post("/api/v1/owners", json={"name": "x", "email": "x@example.com"})
    assert created.json()["digest"] == "off"
    changed = await api.patch(f"/api/v1/owners/{created.json()['id']}", json={"digest": "weekly"})
    assert (changed.status_code, changed.json()["digest"]) == (200, "weekly")


async def test_owner_with_unknown_digest_is_400_naming_digest(api: httpx.AsyncClient) -> None:
    """Only off, daily and weekly are accepted; nothing is stored."""
    response = await api.post(
        "/api/v1/owners", json={"name": "x", "email": "x@example.com", "digest": "hourly"}
    )
    assert response.status_code == 400
    assert response.json()["field"] == "digest"
    assert (await api.get("/api/v1/owners")).json()["total"] == 0
