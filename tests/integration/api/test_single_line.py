"""Names and other single-line fields refuse CR, LF and other control characters (SPEC C10)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

CERT = {"name": "web", "common_name": "web.example.com"}

CASES = [
    ("/api/v1/certificates", {**CERT, "name": "web\r\nBcc: victim@example.com"}, "name"),
    ("/api/v1/certificates", {**CERT, "name": "web\nprod"}, "name"),
    ("/api/v1/certificates", {**CERT, "common_name": "web.example.com\r"}, "common_name"),
    ("/api/v1/certificates", {**CERT, "sans": ["a.example.com", "b\n.example.com"]}, "sans.1"),
    ("/api/v1/certificates", {**CERT, "environment": "prod\u2028x"}, "environment"),
    ("/api/v1/certificates", {**CERT, "tags": {"app": "a\tb"}}, "tags.app"),
    ("/api/v1/certificates", {**CERT, "tags": {"a\nb": "x"}}, "tags.a\nb.[key]"),
    ("/api/v1/teams", {"name": "ops\rteam"}, "name"),
    ("/api/v1/owners", {"name": "Al\nice", "email": "alice@example.com"}, "name"),
    ("/api/v1/issuers", {"name": "ca\x1b[31m", "type": "OpenSSL"}, "name"),
    ("/api/v1/notification-channels", {"name": "a\x7fb", "channel": "Webhook"}, "name"),
]


@pytest.mark.parametrize(("path", "body", "field"), CASES)
async def test_control_characters_in_single_line_fields_are_400(
    api: httpx.AsyncClient, path: str, body: dict[str, Any], field: str
) -> None:
    """A line break or other control character is refused naming the field; nothing is stored."""
    response = await api.post(path, json=body)
    assert response.status_code == 400
    problem = response.json()
    assert problem["field"] == field
    assert problem["errors"][0]["message"] == (
        "Value error, must be a single line without control characters (CR, LF, NUL, tab, …)"
    )
    assert (await api.get(path)).json()["total"] == 0


async def test_control_characters_in_a_renamed_certificate_are_400(api: httpx.AsyncClient) -> None:
    """An edit that would put CR/LF into a certificate's name is refused and the name kept."""
    created = (await api.post("/api/v1/certificates", json=CERT)).json()
    response = await api.patch(
        f"/api/v1/certificates/{created['id']}", json={"name": "web\r\nSubject: x"}
    )
    assert (response.status_code, response.json()["field"]) == (400, "name")
    assert (await api.get(f"/api/v1/certificates/{created['id']}")).json()["name"] == "web"


async def test_descriptions_may_span_lines(api: httpx.AsyncClient) -> None:
    """Multi-line text fields such as a team's description keep their line breaks."""
    response = await api.post("/api/v1/teams", json={"name": "ops", "description": "a\nb"})
    assert (response.status_code, response.json()["description"]) == (201, "a\nb")
