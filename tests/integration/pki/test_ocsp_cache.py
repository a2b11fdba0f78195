"""Pre-signed OCSP answers: reused for nonce-less requests, dropped on revocation."""

from __future__ import annotations

from datetime import timedelta

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from certctl.clock import FrozenClock
from certctl.pki.csr import make_csr

OCSP_TYPE = {"Content-Type": "application/ocsp-request"}


async def _issued(api: httpx.AsyncClient) -> tuple[str, x509.Certificate, x509.Certificate, str]:
    issuer = await api.post(
        "/api/v1/issuers", json={"name": "Local", "type": "GenericCA", "config": {}}
    )
    issuer_id = issuer.json()["id"]
    cert = await api.post(
        "/api/v1/certificates",
        json={"name": "web", "common_name": "web.example.com", "issuer_id": issuer_id},
    )
    cert_id = cert.json()["id"]
    csr, _ = make_csr("web.example.com", ("web.example.com",), "ECDSA-P256")
    issued = await api.post(f"/api/v1/certificates/{cert_id}/csr", json={"csr_pem": csr})
    assert issued.status_code == 201
    leaf = x509.load_pem_x509_certificate(issued.json()["version"]["pem_chain"].encode())
    ca_pem = (await api.get(f"/.well-known/pki/ca/{issuer_id}")).text
    return issuer_id, leaf, x509.load_pem_x509_certificate(ca_pem.encode()), cert_id


def _request(leaf: x509.Certificate, ca: x509.Certificate, nonce: bytes | None = None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(leaf, ca, hashes.SHA1())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(Encoding.DER)


async def _ask(api: httpx.AsyncClient, issuer_id: str, body: bytes) -> bytes:
    response = await api.post(f"/.well-known/pki/ocsp/{issuer_id}", content=body, headers=OCSP_TYPE)
    assert response.status_code == 200
    return response.content


async def test_nonce_less_requests_reuse_the_signed_answer_until_revocation(
    api: httpx.AsyncClient,
) -> None:
    """Two nonce-less asks get the same bytes (ECDSA re-signing would differ); revoke refreshes."""
    issuer_id, leaf, ca, cert_id = await _issued(api)
    first = await _ask(api, issuer_id, _request(leaf, ca))
    second = await _ask(api, issuer_id, _request(leaf, ca))
    assert first == second
    assert ocsp.load_der_ocsp_response(first).certificate_status is ocsp.OCSPCertStatus.GOOD
    await api.post(f"/api/v1/certificates/{cert_id}/revoke", json={"reason": "superseded"})
    after = ocsp.load_der_ocsp_response(await _ask(api, issuer_id, _request(leaf, ca)))
    assert after.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert after.revocation_reason is x509.ReasonFlags.superseded


async def test_requests_with_a_nonce_are_signed_fresh(api: httpx.AsyncClient) -> None:
    """A nonce must be echoed, so such answers never come from the cache."""
    issuer_id, leaf, ca, _ = await _issued(api)
    one = ocsp.load_der_ocsp_response(await _ask(api, issuer_id, _request(leaf, ca, b"n1" * 8)))
    two = ocsp.load_der_ocsp_response(await _ask(api, issuer_id, _request(leaf, ca, b"n2" * 8)))
    nonces = [r.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce for r in (one, two)]
    assert nonces == [b"n1" * 8, b"n2" * 8]


async def test_cached_answers_age_out(api: httpx.AsyncClient, clock: FrozenClock) -> None:
    """After the cache lifetime (5 min) a new answer is signed with the current time."""
    issuer_id, leaf, ca, _ = await _issued(api)
    first = await _ask(api, issuer_id, _request(leaf, ca))
    clock.advance(timedelta(minutes=5, seconds=1))
    later = ocsp.load_der_ocsp_response(await _ask(api, issuer_id, _request(leaf, ca)))
    assert later.this_update_utc - ocsp.load_der_ocsp_response(first).this_update_utc == timedelta(
        minutes=5, seconds=1
    )
