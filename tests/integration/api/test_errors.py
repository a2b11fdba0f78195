"""Bad input gets a clear problem+json 4xx and changes nothing."""

from __future__ import annotations

from pathlib import Path

import httpx
import structlog

from certctl import __version__
from certctl.api.app import create_app
from certctl.bootstrap import AppContext, build_context
from certctl.settings import Settings
from certctl.testing.keys import KEYS, NAMED_KEYS
from certctl.testing.postgres import free_port


async def test_malformed_json_is_400(api: httpx.AsyncClient) -> None:
    """A body that is not JSON is refused naming the body."""
    response = await api.post(
        "/api/v1/teams", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "body: the request body is not valid JSON"
    assert body["field"] == "body"
    assert body["type"] == "urn:certctl:problem:invalid-request"
    assert body["request_id"] == response.headers["x-request-id"]


async def test_body_over_one_mebibyte_is_413_and_creates_nothing(api: httpx.AsyncClient) -> None:
    """A declared body over 1 MiB is refused before it is read."""
    big = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    response = await api.post(
        "/api/v1/teams", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 413
    assert (await api.get("/api/v1/teams")).json()["total"] == 0


async def test_streamed_body_over_the_limit_is_413(api: httpx.AsyncClient) -> None:
    """A chunked body without Content-Length is cut off at the limit too."""

    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"pem": "'
        for _ in range(20):
            yield b"A" * 65536
        yield b'"}'

    response = await api.post(
        "/api/v1/certificates/import",
        content=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert (await api.get("/api/v1/certificates")).json()["total"] == 0


async def test_unknown_route_is_404_problem(api: httpx.AsyncClient) -> None:
    """Even an unknown path answers problem+json."""
    response = await api.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_wrong_method_is_405_problem(api: httpx.AsyncClient) -> None:
    """PUT on a collection is not allowed."""
    response = await api.put("/api/v1/teams", json={})
    assert response.status_code == 405
    assert response.json()["title"] == "Method not allowed"


async def test_security_headers_on_every_answer(api: httpx.AsyncClient) -> None:
    """nosniff, frame denial and a same-origin CSP are always sent; HSTS only with TLS."""
    response = await api.get("/api/v1/teams")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert "strict-transport-security" not in response.headers


async def test_unsafe_request_id_is_replaced(api: httpx.AsyncClient) -> None:
    """A request id with odd characters is not trusted; a fresh one is generated."""
    response = await api.get("/api/v1/teams", headers={"X-Request-ID": "<script>"})
    assert response.headers["x-request-id"] != "<script>"
    assert len(response.headers["x-request-id"]) == 32


async def test_openapi_is_3_1_and_lists_the_resources(api: httpx.AsyncClient) -> None:
    """The OpenAPI document is served and covers the inventory routes."""
    spec = (await api.get("/api/v1/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    for path in (
        "/api/v1/teams",
        "/api/v1/certificates/import",
        "/api/v1/renewal-policies/{resource_id}",
        "/api/v1/audit",
    ):
        assert path in spec["paths"]


async def test_docs_page_uses_bundled_assets(api: httpx.AsyncClient) -> None:
    """/docs loads Swagger UI from this server, not a CDN."""
    page = await api.get("/docs")
    assert page.status_code == 200
    assert "/docs/static/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    assert (await api.get("/docs/static/swagger-ui-bundle.js")).status_code == 200


async def test_probes(api: httpx.AsyncClient, ctx: AppContext) -> None:
    """/health is always ok; /ready checks the database and its migration."""
    assert (await api.get("/health")).json() == {
        "status": "ok",
        "detail": "",
        "version": __version__,
    }
    ready = await api.get("/ready")
    assert (ready.status_code, ready.json()["status"]) == (200, "ok")


async def test_unexpected_failure_is_500_problem_with_headers(tmp_path: Path) -> None:
    """A crash (here: the database file is garbage) answers a problem+json 500 with the request id."""
    # A file that is not a database fails on the first query, on a connection that opened
    # and closes normally (a connect that fails leaves aiosqlite's thread behind).
    garbage = tmp_path / "x.db"
    garbage.write_bytes(b"this is not an SQLite database file\n" * 64)
    settings = Settings(database_url=f"sqlite+aiosqlite:///{garbage}", api_keys_named=NAMED_KEYS)
    ctx = build_context(settings)
    try:
        transport = httpx.ASGITransport(app=create_app(ctx))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = {"X-Request-ID": "boom-1", "Authorization": f"Bearer {KEYS['admin']}"}
            response = await client.post("/api/v1/teams", json={"name": "x"}, headers=headers)
            ready = await client.get("/ready")
    finally:
        await ctx.aclose()
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "boom-1"
    assert response.json()["request_id"] == "boom-1"
    assert "Traceback" not in response.text
    assert (ready.status_code, ready.json()["status"]) == (503, "unavailable")


async def test_unreachable_database_is_503_with_retry_after_and_no_traceback() -> None:
    """With PostgreSQL unreachable a request answers 503 problem+json with Retry-After, and the
    log gets one warning line instead of a traceback per request."""
    settings = Settings(
        database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/certctl",
        api_keys_named=NAMED_KEYS,
    )
    ctx = build_context(settings)
    try:
        transport = httpx.ASGITransport(app=create_app(ctx))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = {"Authorization": f"Bearer {KEYS['admin']}"}
            with structlog.testing.capture_logs() as logs:
                response = await client.post("/api/v1/teams", json={"name": "x"}, headers=headers)
    finally:
        await ctx.aclose()
    assert (response.status_code, response.headers["retry-after"]) == (503, "5")
    assert response.json()["type"] == "urn:certctl:problem:database-unavailable"
    assert response.json()["detail"] == "the database is unavailable; retry shortly"
    assert [(e["event"], "exc_info" in e) for e in logs if e["log_level"] != "debug"] == [
        ("database.unavailable", False)
    ]
    assert [e["log_level"] for e in logs if e["event"] == "database.unavailable"] == ["warning"]
