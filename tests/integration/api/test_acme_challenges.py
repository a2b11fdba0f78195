"""The public HTTP-01 answers: the key authorization of a published token, a problem 404 otherwise."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.services.acme import StoredAnswers


async def test_a_published_token_is_answered_without_a_key(
    make_client: Callable[[str | None], httpx.AsyncClient], ctx: AppContext
) -> None:
    """GET /.well-known/acme-challenge/{token} answers the stored key authorization, no auth."""
    issuer = await ctx.issuers.create(
        SYSTEM_CALLER, {"id": "iss-local", "name": "Local", "type": "GenericCA", "config": {}}
    )
    await StoredAnswers(ctx.runtime, issuer.id).publish("tok-1", "tok-1.thumbprint")
    anonymous = make_client(None)
    response = await anonymous.get("/.well-known/acme-challenge/tok-1")
    assert (response.status_code, response.content) == (200, b"tok-1.thumbprint")
    assert response.headers["content-type"] == "application/octet-stream"


async def test_an_unknown_token_is_a_problem_404(api: httpx.AsyncClient) -> None:
    """An unknown token is a 404 problem document naming it, like every other miss."""
    response = await api.get("/.well-known/acme-challenge/nope")
    assert (response.status_code, response.headers["content-type"]) == (
        404,
        "application/problem+json",
    )
    assert "nope" in response.json()["detail"]
