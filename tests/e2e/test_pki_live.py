"""The local CA against a running server: openssl fetches OCSP and CRL over HTTP itself."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from certctl.testing.postgres import free_port
from certctl.testing.process import running

pytestmark = pytest.mark.e2e
KEY = "pki-admin-key-123456"
HEADERS = {"Authorization": f"Bearer {KEY}"}


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run openssl in `cwd`, capturing text output (not raising on a non-zero exit)."""
    return subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`certctl serve` on a free port with a public URL, so leaves carry OCSP/CRL links."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "CERTCTL_SERVER_PORT": str(port),
        "CERTCTL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/pki.db",
        "CERTCTL_API_KEYS_NAMED": f"pki:{KEY}:admin",
        "CERTCTL_CONFIG_ENCRYPTION_KEY": "live-pki-test-encryption-key",
        "CERTCTL_PUBLIC_URL": url,
    }
    with running(env, tmp_path, url):
        yield url


def _ocsp(tmp: Path, url: str) -> str:
    result = openssl(
        "ocsp", "-issuer", "ca.pem", "-cert", "leaf.pem", "-CAfile", "ca.pem",
        "-url", url, "-resp_text",
        cwd=tmp,
    )  # fmt: skip
    assert "Response verify OK" in result.stderr, result.stderr
    return result.stdout


def test_openssl_ocsp_and_crl_against_the_running_server(server: str, tmp_path: Path) -> None:
    """openssl reports good, then revoked (keyCompromise) with a nonce; the CRL lists it."""
    issuer = httpx.post(
        f"{server}/api/v1/issuers",
        json={"name": "Live CA", "type": "GenericCA", "config": {}},
        headers=HEADERS,
        timeout=10,
    )
    assert issuer.status_code == 201, issuer.text
    issuer_id = issuer.json()["id"]
    cert = httpx.post(
        f"{server}/api/v1/certificates",
        json={"name": "live", "common_name": "live.example.com", "issuer_id": issuer_id},
        headers=HEADERS,
        timeout=10,
    ).json()
    openssl(
        "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=live.example.com",
        "-addext", "subjectAltName=DNS:live.example.com",
        cwd=tmp_path,
    )  # fmt: skip
    issued = httpx.post(
        f"{server}/api/v1/certificates/{cert['id']}/csr",
        json={"csr_pem": (tmp_path / "leaf.csr").read_text()},
        headers=HEADERS,
        timeout=10,
    )
    assert issued.status_code == 201, issued.text
    (tmp_path / "ca.pem").write_text(httpx.get(f"{server}/.well-known/pki/ca/{issuer_id}").text)
    chain = httpx.get(
        f"{server}/api/v1/certificates/{cert['id']}/versions/latest/pem", headers=HEADERS
    ).text
    (tmp_path / "leaf.pem").write_text(
        chain.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    )

    # The leaf names this server as its OCSP responder and CRL distribution point.
    ocsp_uri = openssl(
        "x509", "-in", "leaf.pem", "-noout", "-ocsp_uri", cwd=tmp_path
    ).stdout.strip()
    assert ocsp_uri == f"{server}/.well-known/pki/ocsp/{issuer_id}"
    assert (
        openssl("verify", "-CAfile", "ca.pem", "leaf.pem", cwd=tmp_path).stdout.strip()
        == "leaf.pem: OK"
    )

    before = _ocsp(tmp_path, ocsp_uri)
    assert "leaf.pem: good" in before
    assert "OCSP Nonce" in before

    revoked = httpx.post(
        f"{server}/api/v1/certificates/{cert['id']}/revoke",
        json={"reason": "keyCompromise"},
        headers=HEADERS,
        timeout=10,
    )
    assert revoked.status_code == 200

    after = _ocsp(tmp_path, ocsp_uri)
    assert "leaf.pem: revoked" in after
    assert "Reason: keyCompromise" in after
    assert "OCSP Nonce" in after

    crl = httpx.get(f"{server}/.well-known/pki/crl/{issuer_id}", timeout=10)
    assert crl.headers["content-type"] == "application/pkix-crl"
    (tmp_path / "crl.der").write_bytes(crl.content)
    openssl("crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem", cwd=tmp_path)
    check = openssl(
        "verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "crl.pem", "leaf.pem",
        cwd=tmp_path,
    )  # fmt: skip
    assert check.returncode != 0
    assert "certificate revoked" in check.stdout + check.stderr


SUB_EXTENSIONS = """[v3_sub]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def _sub_ca(tmp: Path) -> tuple[str, str]:
    """An enterprise root and an issuing CA signed by it, as docs/pki.md builds them."""
    (tmp / "ext.cnf").write_text(SUB_EXTENSIONS)
    steps = [
        ["req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-keyout", "root.key", "-out", "root.pem", "-days", "3650",
         "-subj", "/CN=Enterprise Root"],
        ["req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-keyout", "sub.key", "-out", "sub.csr", "-subj", "/CN=certctl Issuing CA"],
        ["x509", "-req", "-in", "sub.csr", "-CA", "root.pem", "-CAkey", "root.key",
         "-CAcreateserial", "-days", "1825", "-extfile", "ext.cnf", "-extensions", "v3_sub",
         "-out", "sub.pem"],
    ]  # fmt: skip
    for step in steps:
        assert openssl(*step, cwd=tmp).returncode == 0
    chain = (tmp / "sub.pem").read_text() + (tmp / "root.pem").read_text()
    return chain, (tmp / "sub.key").read_text()


def test_openssl_ocsp_url_for_a_leaf_of_a_sub_ca(server: str, tmp_path: Path) -> None:
    """`openssl ocsp -url` with the sub-CA as issuer answers good, then revoked (RFC 6960)."""
    chain, key = _sub_ca(tmp_path)
    issuer = httpx.post(
        f"{server}/api/v1/issuers",
        json={
            "name": "Issuing CA",
            "type": "GenericCA",
            "config": {"ca_certificate_pem": chain, "ca_private_key_pem": key},
        },
        headers=HEADERS,
        timeout=10,
    )
    assert issuer.status_code == 201, issuer.text
    issuer_id = issuer.json()["id"]
    cert = httpx.post(
        f"{server}/api/v1/certificates",
        json={"name": "sub-leaf", "common_name": "sub.example.com", "issuer_id": issuer_id},
        headers=HEADERS,
        timeout=10,
    ).json()
    openssl(
        "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=sub.example.com",
        "-addext", "subjectAltName=DNS:sub.example.com",
        cwd=tmp_path,
    )  # fmt: skip
    issued = httpx.post(
        f"{server}/api/v1/certificates/{cert['id']}/csr",
        json={"csr_pem": (tmp_path / "leaf.csr").read_text()},
        headers=HEADERS,
        timeout=10,
    )
    assert issued.status_code == 201, issued.text
    leaf = issued.json()["version"]["pem_chain"].split("-----END CERTIFICATE-----")[0]
    (tmp_path / "leaf.pem").write_text(leaf + "-----END CERTIFICATE-----\n")
    # The issuer is the sub-CA alone; the trust anchor is the enterprise root.
    ca_issuers = httpx.get(f"{server}/.well-known/pki/ca/{issuer_id}.cer", timeout=10)
    (tmp_path / "sub.der").write_bytes(ca_issuers.content)
    openssl("x509", "-inform", "DER", "-in", "sub.der", "-out", "ca.pem", cwd=tmp_path)
    ocsp_uri = f"{server}/.well-known/pki/ocsp/{issuer_id}"

    def status() -> str:
        result = openssl(
            "ocsp", "-issuer", "ca.pem", "-cert", "leaf.pem", "-CAfile", "root.pem",
            "-url", ocsp_uri, "-resp_text",
            cwd=tmp_path,
        )  # fmt: skip
        assert "Response verify OK" in result.stderr, result.stdout + result.stderr
        return result.stdout.split("leaf.pem: ")[1].split("\n")[0]

    assert status() == "good"
    revoked = httpx.post(
        f"{server}/api/v1/certificates/{cert['id']}/revoke",
        json={"reason": "keyCompromise"},
        headers=HEADERS,
        timeout=10,
    )
    assert revoked.status_code == 200, revoked.text
    assert status() == "revoked"
