"""CSRs the local CA refuses before signing, each a 422 naming its rule, and the DER AIA URL."""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from certctl.settings import Settings

PUBLIC_URL = "http://testserver"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The default settings with a public URL, so leaves carry AIA and CRL URLs."""
    return settings.model_copy(update={"public_url": PUBLIC_URL})


def _csr(subject: list[tuple[x509.ObjectIdentifier, str]], sans: list[x509.GeneralName]) -> str:
    # _validate=False builds the out-of-bounds subjects some clients send (with a warning).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        name = x509.Name([x509.NameAttribute(oid, v, _validate=False) for oid, v in subject])
    builder = x509.CertificateSigningRequestBuilder().subject_name(name)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    key = ec.generate_private_key(ec.SECP256R1())
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def _openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
    )


CN = NameOID.COMMON_NAME
HOST = "web.example.com"
LONG = "a" * 71 + ".example.com"
REFUSED = {
    "subject_attribute_length": ([(CN, LONG)], [x509.DNSName(LONG)]),
    "subject_country": ([(NameOID.COUNTRY_NAME, "USA"), (CN, HOST)], [x509.DNSName(HOST)]),
    "subject_email_in_san": (
        [(CN, HOST), (NameOID.EMAIL_ADDRESS, "ops@example.com")],
        [x509.DNSName(HOST)],
    ),
    "dns_name_syntax": ([(CN, HOST)], [x509.DNSName(HOST), x509.DNSName("bad_name.example.com")]),
    "declared_names": ([(CN, HOST)], [x509.DNSName(HOST), x509.DNSName("bank.example")]),
    "san_required": ([(CN, HOST)], []),
    "cn_in_san": ([(CN, HOST)], [x509.DNSName("web2.example.com")]),
}


async def _setup(api: httpx.AsyncClient, sans: list[str] | None = None) -> tuple[str, str]:
    issuer = await api.post(
        "/api/v1/issuers", json={"name": "Local", "type": "GenericCA", "config": {}}
    )
    assert issuer.status_code == 201, issuer.text
    body = {
        "name": "web",
        "common_name": HOST,
        "sans": sans or [HOST],
        "issuer_id": issuer.json()["id"],
    }
    cert = await api.post("/api/v1/certificates", json=body)
    assert cert.status_code == 201, cert.text
    return str(issuer.json()["id"]), str(cert.json()["id"])


@pytest.mark.parametrize("rule", sorted(REFUSED))
async def test_each_refused_csr_is_a_422_naming_its_rule(api: httpx.AsyncClient, rule: str) -> None:
    """The CSR is refused naming the rule and the certificate gains no version."""
    _, cert_id = await _setup(api, sans=[HOST, "web2.example.com"] if rule == "cn_in_san" else None)
    subject, sans = REFUSED[rule]
    response = await api.post(
        f"/api/v1/certificates/{cert_id}/csr", json={"csr_pem": _csr(subject, sans)}
    )
    problem = response.json()
    assert (response.status_code, problem["rule"], problem["errors"][0]["field"]) == (
        422,
        rule,
        "csr_pem",
    )
    versions = await api.get(f"/api/v1/certificates/{cert_id}/versions")
    assert versions.json()["data"] == []


async def test_issued_leaf_keeps_the_declared_names(api: httpx.AsyncClient) -> None:
    """A CSR for a subset of the declared names is issued; the record keeps all of them."""
    _, cert_id = await _setup(api, sans=[HOST, "www.example.com"])
    csr = _csr([(CN, HOST)], [x509.DNSName(HOST)])
    response = await api.post(f"/api/v1/certificates/{cert_id}/csr", json={"csr_pem": csr})
    assert response.status_code == 201, response.text
    cert = response.json()["certificate"]
    assert (cert["common_name"], cert["sans"]) == (HOST, [HOST, "www.example.com"])


async def test_aia_ca_issuers_url_answers_one_der_certificate(
    api: httpx.AsyncClient, tmp_path: Path
) -> None:
    """The leaf's caIssuers URL answers the CA certificate in DER that openssl reads."""
    issuer_id, cert_id = await _setup(api)
    csr = _csr([(CN, HOST)], [x509.DNSName(HOST)])
    issued = await api.post(f"/api/v1/certificates/{cert_id}/csr", json={"csr_pem": csr})
    assert issued.status_code == 201, issued.text
    pem = (await api.get(f"/api/v1/certificates/{cert_id}/versions/latest/pem")).text
    leaf = x509.load_pem_x509_certificate(pem.encode())
    access = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    urls = [
        str(d.access_location.value)
        for d in access
        if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS
    ]
    assert urls == [f"{PUBLIC_URL}/.well-known/pki/ca/{issuer_id}.cer"]
    response = await api.get(urls[0].removeprefix(PUBLIC_URL))
    assert (response.status_code, response.headers["content-type"]) == (
        200,
        "application/pkix-cert",
    )
    (tmp_path / "ca.der").write_bytes(response.content)
    result = _openssl("x509", "-inform", "DER", "-in", "ca.der", "-noout", "-subject", cwd=tmp_path)
    assert result.stdout.strip() == "subject=CN = Local"
    assert x509.load_der_x509_certificate(response.content).subject == leaf.issuer


async def test_cabf_serverauth_profile_adds_policies_and_refuses_internal_names(
    api: httpx.AsyncClient,
) -> None:
    """A preset profile via the API: leaves carry the BR DV policy; `db.corp` is refused."""
    profile = await api.post(
        "/api/v1/profiles",
        json={"name": "public", "preset": "cabf-serverauth", "max_ttl_seconds": 398 * 86400},
    )
    assert (profile.status_code, profile.json()["preset"]) == (201, "cabf-serverauth")
    unbounded = await api.post("/api/v1/profiles", json={"name": "x", "preset": "cabf-serverauth"})
    assert (unbounded.status_code, unbounded.json()["errors"][0]["field"]) == (
        400,
        "max_ttl_seconds",
    )
    _, cert_id = await _setup(api, sans=[HOST, "db.corp"])
    patched = await api.patch(
        f"/api/v1/certificates/{cert_id}", json={"certificate_profile_id": profile.json()["id"]}
    )
    assert patched.status_code == 200, patched.text
    internal = _csr([(CN, HOST)], [x509.DNSName(HOST), x509.DNSName("db.corp")])
    refused = await api.post(f"/api/v1/certificates/{cert_id}/csr", json={"csr_pem": internal})
    assert (refused.status_code, refused.json()["rule"]) == (422, "internal_name")
    csr = _csr([(CN, HOST)], [x509.DNSName(HOST)])
    issued = await api.post(f"/api/v1/certificates/{cert_id}/csr", json={"csr_pem": csr})
    assert issued.status_code == 201, issued.text
    leaf = x509.load_pem_x509_certificate(issued.json()["version"]["pem_chain"].encode())
    policies = leaf.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == ["2.23.140.1.2.1"]
