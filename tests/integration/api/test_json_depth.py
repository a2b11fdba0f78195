"""Deeply nested JSON bodies are refused with a 400 before anything walks them (SPEC C10)."""

from __future__ import annotations

import httpx
import pytest
import structlog

from certctl.api.bodies import MAX_JSON_DEPTH


def nested(depth: int) -> str:
    """A JSON value of `depth` nested arrays around one string."""
    return "[" * depth + '"x"' + "]" * depth


@pytest.mark.parametrize("depth", [500, 900])
@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/api/v1/issuers", '{"name": "i", "type": "OpenSSL", "config": {"k": %s}}'),
        ("/api/v1/teams", '{"name": "t", "description": %s}'),
        ("/api/v1/teams", "%s"),
    ],
)
async def test_deep_body_is_400_naming_the_body_and_logs_no_crash(
    api: httpx.AsyncClient, path: str, template: str, depth: int
) -> None:
    """A body nested hundreds of levels deep in any field answers 400 and creates nothing."""
    body = template % nested(depth)
    with structlog.testing.capture_logs() as logs:
        response = await api.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["field"] == "body"
    assert problem["detail"] == f"body: JSON nesting is deeper than {MAX_JSON_DEPTH} levels"
    assert problem["request_id"] == response.headers["x-request-id"]
    assert [e["event"] for e in logs if e["log_level"] in ("error", "critical")] == []
    assert (await api.get(path)).json()["total"] == 0


async def test_deep_body_without_content_type_is_400(api: httpx.AsyncClient) -> None:
    """A body sent without a Content-Type (which the framework parses as JSON) is bounded too."""
    response = await api.post("/api/v1/teams", content=nested(600))
    assert response.status_code == 400
    assert response.json()["field"] == "body"


async def test_nesting_at_the_limit_reaches_validation(api: httpx.AsyncClient) -> None:
    """A body exactly at the depth limit is parsed and validated as usual."""
    # A deployment target's config is read key by key: the nested key is reached and refused.
    body = '{"name": "i", "type": "File", "config": {"k": ' + nested(MAX_JSON_DEPTH - 2) + "}}"
    response = await api.post(
        "/api/v1/targets", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["field"] == "config.k"


async def test_brackets_inside_strings_do_not_count(api: httpx.AsyncClient) -> None:
    """Brackets and escaped quotes inside string values are text, not nesting."""
    description = '[{\\"' * 400
    response = await api.post(
        "/api/v1/teams",
        content='{"name": "t", "description": "' + description + '"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201
    assert response.json()["description"] == '[{"' * 400
