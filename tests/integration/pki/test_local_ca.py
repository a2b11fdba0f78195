"""Local CA end to end through the API, each answer checked with the real openssl CLI."""

from __future__ import annotations

import base64
import re
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from certctl.bootstrap import AppContext
from certctl.clock import FrozenClock
from certctl.pki.ca import create_root
from certctl.pki.keys import private_key_to_pem

OCSP_TYPE = "application/ocsp-request"


def openssl(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run openssl in `cwd`, capturing text output."""
    return subprocess.run(
        ["openssl", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )


def make_csr(tmp: Path, cn: str, *, key: str = "ec", name: str = "leaf") -> str:
    """A CSR for `cn` (SAN DNS:cn) made by `openssl req`; key `ec` (P-256) or `rsa:BITS`."""
    key_args = (
        ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        if key == "ec"
        else ["-newkey", key]
    )
    openssl(
        "req", "-new", "-nodes", *key_args, "-keyout", f"{name}.key", "-out", f"{name}.csr",
        "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}",
        cwd=tmp,
    )  # fmt: skip
    return (tmp / f"{name}.csr").read_text()


@pytest.fixture
def now(clock: FrozenClock) -> datetime:
    """Real time: openssl checks OCSP answer windows against the wall clock."""
    clock.set(datetime.now(UTC).replace(microsecond=0))
    return clock.now()


async def _local_issuer(api: httpx.AsyncClient, name: str = "Local") -> str:
    response = await api.post(
        "/api/v1/issuers", json={"name": name, "type": "GenericCA", "config": {}}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _certificate(api: httpx.AsyncClient, issuer_id: str, **extra: object) -> str:
    body = {"name": "web", "common_name": "web.example.com", "issuer_id": issuer_id, **extra}
    response = await api.post("/api/v1/certificates", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _issue(
    api: httpx.AsyncClient, tmp: Path, issuer_id: str, cert_id: str
) -> dict[str, object]:
    csr = make_csr(tmp, "web.example.com")
    response = await api.post(f"/api/v1/certificates/{cert_id}/csr", json={"csr_pem": csr})
    assert response.status_code == 201, response.text
    ca = await api.get(f"/.well-known/pki/ca/{issuer_id}")
    (tmp / "ca.pem").write_text(ca.text)
    pem = await api.get(f"/api/v1/certificates/{cert_id}/versions/latest/pem")
    leaf = pem.text.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    (tmp / "leaf.pem").write_text(leaf)
    body: dict[str, object] = response.json()
    return body


async def _crl(api: httpx.AsyncClient, tmp: Path, issuer_id: str) -> tuple[httpx.Response, int]:
    response = await api.get(f"/.well-known/pki/crl/{issuer_id}")
    assert response.status_code == 200
    (tmp / "crl.der").write_bytes(response.content)
    text = openssl(
        "crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "ca.pem", "-noout", "-text", cwd=tmp
    )
    assert "verify OK" in text.stderr + text.stdout
    match = re.search(r"X509v3 CRL Number:\s*\n\s*(\d+)", text.stdout)
    assert match is not None, text.stdout
    return response, int(match.group(1))


async def _ocsp(api: httpx.AsyncClient, tmp: Path, issuer_id: str) -> str:
    openssl(
        "ocsp", "-issuer", "ca.pem", "-cert", "leaf.pem", "-reqout", "req.der", "-nonce", cwd=tmp
    )
    response = await api.post(
        f"/.well-known/pki/ocsp/{issuer_id}",
        content=(tmp / "req.der").read_bytes(),
        headers={"Content-Type": OCSP_TYPE},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ocsp-response"
    (tmp / "resp.der").write_bytes(response.content)
    # With -reqin the nonce of req.der is checked against the answer's ("Nonce Verify error"
    # otherwise), and the signature against the CA through the responder certificate.
    result = openssl(
        "ocsp", "-reqin", "req.der", "-respin", "resp.der", "-CAfile", "ca.pem", "-resp_text",
        cwd=tmp,
    )  # fmt: skip
    assert "Response verify OK" in result.stderr
    assert "OCSP Nonce" in result.stdout
    return result.stdout


async def test_issue_verify_revoke_crl_and_ocsp(
    api: httpx.AsyncClient, ctx: AppContext, now: datetime, tmp_path: Path
) -> None:
    """CSR → leaf that openssl verifies; OCSP good; revoke → CRL lists it, OCSP revoked."""
    issuer_id = await _local_issuer(api)
    cert_id = await _certificate(api, issuer_id)
    issued = await _issue(api, tmp_path, issuer_id, cert_id)
    certificate = issued["certificate"]
    version = issued["version"]
    assert isinstance(certificate, dict)
    assert isinstance(version, dict)
    assert certificate["status"] == "Active"
    assert certificate["sans"] == ["web.example.com"]
    assert certificate["expires_at"] == version["not_after"]
    epoch = str(int(now.timestamp()))
    verified = openssl(
        "verify", "-attime", epoch, "-CAfile", "ca.pem", "leaf.pem", cwd=tmp_path, check=False
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "leaf.pem: OK" in verified.stdout

    _, first_number = await _crl(api, tmp_path, issuer_id)
    assert "Cert Status: good" in (await _ocsp(api, tmp_path, issuer_id))

    response = await api.post(
        f"/api/v1/certificates/{cert_id}/revoke", json={"reason": "keyCompromise"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "Revoked"
    assert response.json()["revocation_reason"] == "keyCompromise"

    _, number = await _crl(api, tmp_path, issuer_id)
    assert number > first_number
    text = openssl(
        "crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text", cwd=tmp_path
    ).stdout
    serial = str(version["serial_number"]).upper()
    assert re.search(rf"Serial Number: 0*{serial}", text), text
    assert "Key Compromise" in text
    openssl("crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem", cwd=tmp_path)
    revoked = openssl(
        "verify", "-attime", epoch, "-crl_check", "-CRLfile", "crl.pem", "-CAfile", "ca.pem",
        "leaf.pem",
        cwd=tmp_path, check=False,
    )  # fmt: skip
    assert revoked.returncode != 0
    assert "certificate revoked" in revoked.stdout + revoked.stderr

    answer = await _ocsp(api, tmp_path, issuer_id)
    assert "Cert Status: revoked" in answer
    assert "Revocation Reason: keyCompromise (0x1)" in answer

    listing = (await api.get("/api/v1/crl")).json()
    assert listing["total"] == 1
    assert listing["version"] == 2
    assert listing["entries"][0]["serial_number"] == version["serial_number"]
    assert listing["entries"][0]["revocation_reason"] == "keyCompromise"
    assert listing["entries"][0]["issuer_id"] == issuer_id

    audit = await api.get("/api/v1/audit", params={"resource_id": cert_id})
    actions = {e["action"] for e in audit.json()["data"]}
    assert {"certificate_issued", "certificate_revoked"} <= actions


async def test_ocsp_get_unknown_and_malformed(
    api: httpx.AsyncClient, now: datetime, tmp_path: Path
) -> None:
    """GET with base64; a serial this CA never issued is unknown; garbage is malformedRequest."""
    issuer_id = await _local_issuer(api)
    cert_id = await _certificate(api, issuer_id)
    await _issue(api, tmp_path, issuer_id, cert_id)
    # A certificate of the right CA name but a serial it never issued: the CA itself.
    openssl(
        "ocsp",
        "-issuer",
        "ca.pem",
        "-cert",
        "ca.pem",
        "-no_nonce",
        "-reqout",
        "unknown.der",
        cwd=tmp_path,
    )
    encoded = base64.b64encode((tmp_path / "unknown.der").read_bytes()).decode()
    response = await api.get(f"/.well-known/pki/ocsp/{issuer_id}/{encoded}")
    assert response.status_code == 200
    (tmp_path / "unknown-resp.der").write_bytes(response.content)
    text = openssl(
        "ocsp", "-reqin", "unknown.der", "-respin", "unknown-resp.der", "-CAfile", "ca.pem",
        "-resp_text",
        cwd=tmp_path,
    )  # fmt: skip
    assert "Response verify OK" in text.stderr
    assert "Cert Status: unknown" in text.stdout

    malformed = await api.post(
        f"/.well-known/pki/ocsp/{issuer_id}",
        content=b"not an ocsp request",
        headers={"Content-Type": OCSP_TYPE},
    )
    assert malformed.status_code == 200
    (tmp_path / "bad.der").write_bytes(malformed.content)
    text = openssl("ocsp", "-respin", "bad.der", "-resp_text", cwd=tmp_path, check=False)
    assert "malformedrequest" in (text.stdout + text.stderr).lower()
    bad_get = await api.get(f"/.well-known/pki/ocsp/{issuer_id}/%%%")
    assert bad_get.status_code == 200
    assert bad_get.content == malformed.content


async def test_crl_etag_and_cache_headers(
    make_client: Callable[[str | None], httpx.AsyncClient], now: datetime
) -> None:
    """The CRL is public, cacheable, and a matching If-None-Match answers 304."""
    issuer_id = await _local_issuer(make_client("admin"))
    anonymous = make_client(None)
    first = await anonymous.get(f"/.well-known/pki/crl/{issuer_id}")
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/pkix-crl"
    assert first.headers["cache-control"] == "public, max-age=3600, must-revalidate"
    etag = first.headers["etag"]
    again = await anonymous.get(
        f"/.well-known/pki/crl/{issuer_id}", headers={"If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.headers["etag"] == etag
    assert again.content == b""
    stale = await anonymous.get(
        f"/.well-known/pki/crl/{issuer_id}", headers={"If-None-Match": '"other"'}
    )
    assert stale.status_code == 200
    assert stale.content == first.content
    chain = await anonymous.get(f"/.well-known/pki/ca/{issuer_id}")
    assert chain.status_code == 200
    assert chain.headers["content-type"] == "application/x-pem-file"
    assert chain.text.startswith("-----BEGIN CERTIFICATE-----")
    missing = await anonymous.get("/.well-known/pki/crl/iss-nope")
    assert missing.status_code == 404


async def test_crl_loop_regenerates_with_increasing_number(
    api: httpx.AsyncClient, ctx: AppContext, now: datetime
) -> None:
    """The crl loop signs a new CRL for every local CA, numbering monotonically."""
    issuer_id = await _local_issuer(api)
    first = await ctx.revocation.regenerate_all()
    second = await ctx.revocation.regenerate_all()
    assert first == {
        "generated": 1,
        "published_revocations": 0,
        "failed": {},
        "crl_numbers": {issuer_id: 1},
    }
    assert second["crl_numbers"] == {issuer_id: 2}
    ran = await api.post("/api/v1/admin/loops/crl/run")
    assert ran.status_code == 200, ran.text


async def test_ca_persists_and_key_is_never_returned(api: httpx.AsyncClient, now: datetime) -> None:
    """A sub-CA from PEM: the key is masked in every answer and the chain is served."""
    enterprise = create_root("Enterprise Root", now=now)
    config = {
        "ca_certificate_pem": enterprise.certificate_pem,
        "ca_private_key_pem": private_key_to_pem(enterprise.key),
    }
    created = await api.post(
        "/api/v1/issuers", json={"name": "Sub", "type": "GenericCA", "config": config}
    )
    assert created.status_code == 201, created.text
    issuer_id = created.json()["id"]
    assert created.json()["config"]["ca_private_key_pem"] == "********"
    fetched = await api.get(f"/api/v1/issuers/{issuer_id}")
    assert "PRIVATE KEY" not in fetched.text
    chain = await api.get(f"/.well-known/pki/ca/{issuer_id}")
    assert chain.text == enterprise.chain_pem
    again = await api.get(f"/.well-known/pki/ca/{issuer_id}")
    assert again.text == chain.text


async def test_generic_ca_needs_the_encryption_key(
    api: httpx.AsyncClient, ctx: AppContext, now: datetime
) -> None:
    """Without CERTCTL_CONFIG_ENCRYPTION_KEY a GenericCA is refused naming `config`."""
    import dataclasses

    object.__setattr__(ctx, "runtime", dataclasses.replace(ctx.runtime, sealer=None))
    ctx.issuers.runtime = ctx.runtime
    response = await api.post(
        "/api/v1/issuers", json={"name": "Local", "type": "GenericCA", "config": {}}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "config"
    listed = await api.get("/api/v1/issuers")
    assert listed.json()["total"] == 0


async def test_profile_violation_names_the_rule(
    api: httpx.AsyncClient, now: datetime, tmp_path: Path
) -> None:
    """An RSA-1024 CSR breaks the profile's key rule: 422 with rule key_algorithm."""
    issuer_id = await _local_issuer(api)
    cert_id = await _certificate(api, issuer_id)
    csr = make_csr(tmp_path, "web.example.com", key="rsa:1024")
    response = await api.post(f"/api/v1/certificates/{cert_id}/csr", json={"csr_pem": csr})
    assert response.status_code == 422
    assert response.json()["rule"] == "key_algorithm"
    versions = await api.get(f"/api/v1/certificates/{cert_id}/versions")
    assert versions.json()["data"] == []


async def test_csr_needs_a_local_ca_issuer(api: httpx.AsyncClient, tmp_path: Path) -> None:
    """A certificate without a GenericCA issuer cannot take a CSR."""
    cert = await api.post(
        "/api/v1/certificates", json={"name": "web", "common_name": "web.example.com"}
    )
    csr = make_csr(tmp_path, "web.example.com")
    response = await api.post(
        f"/api/v1/certificates/{cert.json()['id']}/csr", json={"csr_pem": csr}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "issuer_id"


async def test_revoke_refusals(
    make_client: Callable[[str | None], httpx.AsyncClient], now: datetime, tmp_path: Path
) -> None:
    """Unknown reason → 400 on `reason`; a second revoke → 409 Conflict; viewers get 403."""
    api = make_client("admin")
    operator = make_client("operator")
    issuer_id = await _local_issuer(api)
    cert_id = await _certificate(api, issuer_id)
    await _issue(api, tmp_path, issuer_id, cert_id)
    url = f"/api/v1/certificates/{cert_id}/revoke"
    unknown = await operator.post(url, json={"reason": "bored"})
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "reason"
    assert (await make_client("viewer").post(url, json={"reason": ""})).status_code == 403
    first = await operator.post(url, json={"reason": ""})
    assert first.status_code == 200
    assert first.json()["revocation_reason"] == "unspecified"
    second = await operator.post(url, json={"reason": "superseded"})
    assert (second.status_code, second.json()["detail"]) == (
        409,
        f"certificate {cert_id} is already Revoked",
    )
    again = await operator.post(
        f"/api/v1/certificates/{cert_id}/csr",
        json={"csr_pem": make_csr(tmp_path, "web.example.com", name="again")},
    )
    assert again.status_code == 400


async def test_revoking_an_imported_certificate_records_its_serial(
    api: httpx.AsyncClient,
) -> None:
    """Without an issuer the revocation row keeps the latest serial, not notified."""
    from certctl.pki.mint import make_ca, mint_leaf
    from certctl.testing.clock import TEST_EPOCH

    ca = make_ca("Elsewhere", TEST_EPOCH)
    pem = mint_leaf(
        ca,
        common_name="old.example.com",
        sans=["old.example.com"],
        not_before=TEST_EPOCH,
        not_after=TEST_EPOCH.replace(year=2027),
    )
    imported = await api.post("/api/v1/certificates/import", json={"pem": pem})
    assert imported.status_code == 201, imported.text
    cert_id = imported.json()["certificate"]["id"]
    serial = imported.json()["version"]["serial_number"]
    response = await api.post(
        f"/api/v1/certificates/{cert_id}/revoke", json={"reason": "superseded"}
    )
    assert response.status_code == 200
    listing = (await api.get("/api/v1/crl")).json()
    assert [(e["serial_number"], e["issuer_id"]) for e in listing["entries"]] == [(serial, None)]


async def test_bad_ca_config_is_refused_naming_the_field(api: httpx.AsyncClient) -> None:
    """A non-numeric validity or an unknown key spec is a 400 and creates no issuer."""
    days = await api.post(
        "/api/v1/issuers",
        json={"name": "Local", "type": "GenericCA", "config": {"validity_days": "ten"}},
    )
    assert days.status_code == 400
    assert days.json()["errors"][0]["field"] == "config.validity_days"
    spec = await api.post(
        "/api/v1/issuers",
        json={"name": "Local", "type": "GenericCA", "config": {"key_spec": "DSA-1024"}},
    )
    assert spec.status_code == 400
    assert spec.json()["errors"][0]["field"] == "key_spec"
    assert (await api.get("/api/v1/issuers")).json()["total"] == 0


async def test_responder_is_reused_then_rotated_before_expiry(
    api: httpx.AsyncClient, clock: FrozenClock, now: datetime, tmp_path: Path
) -> None:
    """One responder certificate per CA, replaced once within 7 days of its 30-day end."""
    from datetime import timedelta

    from cryptography.x509 import ocsp

    issuer_id = await _local_issuer(api)
    (tmp_path / "ca.pem").write_text((await api.get(f"/.well-known/pki/ca/{issuer_id}")).text)
    openssl(
        "ocsp", "-issuer", "ca.pem", "-cert", "ca.pem", "-no_nonce", "-reqout", "req.der",
        cwd=tmp_path,
    )  # fmt: skip
    request = (tmp_path / "req.der").read_bytes()

    async def responder_serial() -> int:
        response = await api.post(f"/.well-known/pki/ocsp/{issuer_id}", content=request)
        return ocsp.load_der_ocsp_response(response.content).certificates[0].serial_number

    first = await responder_serial()
    clock.advance(timedelta(days=1))
    assert await responder_serial() == first
    clock.advance(timedelta(days=22))
    rotated = await responder_serial()
    assert rotated != first
    assert await responder_serial() == rotated
