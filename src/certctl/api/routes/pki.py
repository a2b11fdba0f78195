"""Local CA routes: CSR issuance, revocation, the JSON CRL, and the public PKI endpoints.

The `/.well-known/pki` endpoints are for relying parties (TLS clients, `openssl`): no auth.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from certctl.api.deps import API_PREFIX, CallerDep, ContextDep
from certctl.api.schemas.certificates import CertificateOut, VersionOut
from certctl.api.schemas.common import PROBLEM_RESPONSES
from certctl.api.schemas.jobs import JobOut
from certctl.api.schemas.pki import CRLEntryOut, CRLOut, CSRIn, IssuedOut, RevokeIn
from certctl.domain.jobs import Job
from certctl.pki.ocsp import malformed_response

router = APIRouter(prefix=API_PREFIX, tags=["certificates"], responses=PROBLEM_RESPONSES)
public = APIRouter(prefix="/.well-known/pki", tags=["pki"])

PEM_TYPE = "application/x-pem-file"
CRL_TYPE = "application/pkix-crl"
CERT_TYPE = "application/pkix-cert"
OCSP_RESPONSE_TYPE = "application/ocsp-response"
CRL_CACHE_CONTROL = "public, max-age=3600, must-revalidate"
MAX_OCSP_REQUEST = 16384


@router.post(
    "/certificates/{resource_id}/csr",
    name="issue_from_csr",
    status_code=201,
    response_model=IssuedOut,
    responses={
        202: {
            "model": JobOut,
            "description": "A remote CA's certificate (ACME, Vault, step-ca, script): the CSR "
            "passed the profile checks and is stored on the issuing job, which the job "
            "processor runs (Location names the job).",
        }
    },
)
async def issue_from_csr(
    ctx: ContextDep, who: CallerDep, resource_id: str, body: CSRIn
) -> IssuedOut | Response:
    """Issue a new version from a CSR, checked against the certificate's profile (422 names
    the broken rule): the local CA signs at once (201); another CA's order is queued (202)."""
    outcome = await ctx.jobs.submit_csr(
        who, resource_id, body.csr_pem, ttl_seconds=body.ttl_seconds
    )
    if isinstance(outcome, Job):
        return JSONResponse(
            JobOut.model_validate(outcome).model_dump(mode="json"),
            status_code=202,
            headers={"Location": f"{API_PREFIX}/jobs/{outcome.id}"},
        )
    cert, version = outcome
    return IssuedOut(
        certificate=CertificateOut.model_validate(cert),
        version=VersionOut.model_validate(version),
    )


@router.post(
    "/certificates/{resource_id}/revoke", name="revoke_certificate", response_model=CertificateOut
)
async def revoke_certificate(
    ctx: ContextDep, who: CallerDep, resource_id: str, body: RevokeIn
) -> CertificateOut:
    """Revoke every unexpired version of the certificate (409 when already revoked); its
    CA's CRL is regenerated right after."""
    return CertificateOut.model_validate(await ctx.revocation.revoke(who, resource_id, body.reason))


@router.get("/crl", name="json_crl", response_model=CRLOut)
async def json_crl(ctx: ContextDep, who: CallerDep) -> CRLOut:
    """Every revoked serial, as JSON."""
    listing = await ctx.revocation.listing(who)
    entries = [
        CRLEntryOut(
            serial_number=e.serial_number,
            revocation_date=e.revoked_at,
            revocation_reason=e.reason,
            certificate_id=e.certificate_id,
            issuer_id=e.issuer_id,
        )
        for e in listing.entries
    ]
    return CRLOut(
        version=listing.version,
        entries=entries,
        total=len(entries),
        generated_at=listing.generated_at,
    )


@public.get(
    "/ca/{issuer_id}.cer", name="ca_certificate", responses={200: {"content": {CERT_TYPE: {}}}}
)
async def ca_certificate(ctx: ContextDep, issuer_id: str) -> Response:
    """The CA's certificate alone in DER: the AIA caIssuers URL of its leaves (RFC 5280
    4.2.2.1 asks for one DER certificate or a certs-only CMS bundle)."""
    return Response(await ctx.pki.ca_certificate_der(issuer_id), media_type=CERT_TYPE)


@public.get("/ca/{issuer_id}", name="ca_chain", responses={200: {"content": {PEM_TYPE: {}}}})
async def ca_chain(ctx: ContextDep, issuer_id: str) -> Response:
    """The CA chain of a local CA, CA first (PEM)."""
    return Response(await ctx.pki.chain_pem(issuer_id), media_type=PEM_TYPE)


@public.get("/crl/{issuer_id}", name="der_crl", responses={200: {"content": {CRL_TYPE: {}}}})
async def der_crl(ctx: ContextDep, request: Request, issuer_id: str) -> Response:
    """The DER CRL of a local CA; `If-None-Match` with the current ETag answers 304."""
    der, state = await ctx.revocation.crl(issuer_id)
    headers = {"Cache-Control": CRL_CACHE_CONTROL, "ETag": state.etag or ""}
    if state.next_update is not None:
        headers["Expires"] = state.next_update.strftime("%a, %d %b %Y %H:%M:%S GMT")
    if _matches(request.headers.get("if-none-match"), state.etag):
        return Response(status_code=304, headers=headers)
    return Response(der, media_type=CRL_TYPE, headers=headers)


def _matches(header: str | None, etag: str | None) -> bool:
    if not header or not etag:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


@public.get(
    "/ocsp/{issuer_id}/{encoded:path}",
    name="ocsp_get",
    responses={200: {"content": {OCSP_RESPONSE_TYPE: {}}}},
)
async def ocsp_get(ctx: ContextDep, issuer_id: str, encoded: str) -> Response:
    """OCSP over GET (RFC 6960 A.1): the base64 DER request in the path."""
    try:
        text = encoded.replace("-", "+").replace("_", "/")
        der = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return Response(malformed_response(), media_type=OCSP_RESPONSE_TYPE)
    return Response(await ctx.ocsp.ocsp(issuer_id, der), media_type=OCSP_RESPONSE_TYPE)


@public.post(
    "/ocsp/{issuer_id}",
    name="ocsp_post",
    responses={200: {"content": {OCSP_RESPONSE_TYPE: {}}}},
)
async def ocsp_post(ctx: ContextDep, request: Request, issuer_id: str) -> Response:
    """OCSP over POST: `application/ocsp-request` body, `application/ocsp-response` answer."""
    body = await request.body()
    if not body or len(body) > MAX_OCSP_REQUEST:
        return Response(malformed_response(), media_type=OCSP_RESPONSE_TYPE)
    return Response(await ctx.ocsp.ocsp(issuer_id, body), media_type=OCSP_RESPONSE_TYPE)
