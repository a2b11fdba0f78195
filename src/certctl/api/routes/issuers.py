"""Issuer actions beyond CRUD (`POST /issuers/{id}/test`) and the public HTTP-01 answers.

`/.well-known/acme-challenge/{token}` is read by the ACME CA's validation servers (RFC 8555
section 8.3): no auth, plain text, answered from the database so any replica serves it.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from certctl.api.deps import API_PREFIX, CallerDep, ContextDep
from certctl.api.schemas.common import PROBLEM_RESPONSES
from certctl.api.schemas.inventory import IssuerOut, IssuerTestOut
from certctl.errors import NotFound
from certctl.services.acme import key_authorization

router = APIRouter(prefix=API_PREFIX, tags=["issuers"], responses=PROBLEM_RESPONSES)
challenges = APIRouter(prefix="/.well-known/acme-challenge", tags=["pki"])


@router.post("/issuers/{issuer_id}/test", name="test_issuer", response_model=IssuerTestOut)
async def test_issuer(ctx: ContextDep, who: CallerDep, issuer_id: str) -> IssuerTestOut:
    """Reach the issuer's CA with its stored configuration; `ok` false names the cause."""
    issuer, check = await ctx.issuer_tests.test(who, issuer_id)
    return IssuerTestOut(ok=check.ok, detail=check.detail, issuer=IssuerOut.model_validate(issuer))


@challenges.get("/{token}", name="acme_http01", responses={404: {"description": "unknown token"}})
async def acme_http01(ctx: ContextDep, token: str) -> Response:
    """The key authorization of a pending HTTP-01 challenge (RFC 8555 section 8.3)."""
    answer = await key_authorization(ctx.runtime, token)
    if answer is None:
        # Like every other error of the API: a problem document (the CA only needs the 404).
        raise NotFound("acme_challenge", token)
    return Response(answer, media_type="application/octet-stream")
