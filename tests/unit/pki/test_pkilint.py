"""Every kind of artefact the local CA makes passes pkilint's RFC 5280 / RFC 6960 linters.

pkilint (an independent linter) decodes each DER document with its own ASN.1 schemas and
runs the validators of its `lint_pkix_cert`, `lint_crl -p PKIX` and `lint_ocsp_response`
tools; any ERROR or FATAL finding, or a document it cannot decode, fails the test.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID
from pkilint import loader, pkix, report, validation
from pkilint.cabf import serverauth
from pkilint.cabf.serverauth import serverauth_constants
from pkilint.pkix import certificate, crl, extension, name
from pkilint.pkix import ocsp as pkilint_ocsp

from certctl.domain.policies import CABF_MAX_TTL_SECONDS, CABF_SERVERAUTH, CertificateProfile
from certctl.domain.revocation import RevocationReason
from certctl.pki.ca import LocalCA, create_root, load_sub_ca
from certctl.pki.crl import RevokedEntry, build_crl
from certctl.pki.issuance import issue_leaf
from certctl.pki.mint import mint_sub_ca
from certctl.pki.ocsp import CertStatus, build_response, make_responder, parse_request

NOW = datetime.now(UTC).replace(microsecond=0)
PROFILE = CertificateProfile(id="prof-web", name="web", created_at=NOW, updated_at=NOW)
BASE = "http://pki.example.com/.well-known/pki"


def _certificate_validator() -> Any:
    return certificate.create_pkix_certificate_validator_container(
        certificate.create_decoding_validators(
            name.ATTRIBUTE_TYPE_MAPPINGS, extension.EXTENSION_MAPPINGS
        ),
        [
            certificate.create_issuer_validator_container([]),
            certificate.create_validity_validator_container(),
            certificate.create_subject_validator_container([]),
            certificate.create_extensions_validator_container([]),
            certificate.create_spki_validator_container([]),
        ],
    )


def _crl_validator() -> Any:
    return crl.create_pkix_crl_validator_container(
        [
            pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS),
            pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS),
        ],
        [
            crl.create_issuer_validator_container([]),
            crl.create_validity_validator_container([]),
            crl.create_extensions_validator_container([]),
        ],
    )


def _ocsp_validator() -> Any:
    return pkilint_ocsp.create_pkix_ocsp_response_validator_container(
        [
            pkilint_ocsp.create_response_decoder(),
            pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS),
            pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS),
        ],
        [],
    )


def _cabf_dv_validator() -> Any:
    kind = serverauth_constants.CertificateType.DV_FINAL_CERTIFICATE
    return certificate.create_pkix_certificate_validator_container(
        serverauth.create_decoding_validators(), serverauth.create_validators(kind)
    )


# The validators pkilint's lint_pkix_cert, lint_crl (-p PKIX) and lint_ocsp_response run.
LINTERS: dict[str, tuple[Callable[[], Any], Any]] = {
    "certificate": (_certificate_validator, loader.RFC5280CertificateDocumentLoader()),
    "crl": (_crl_validator, loader.RFC5280CertificateListDocumentLoader()),
    "ocsp": (_ocsp_validator, loader.RFC6960OCSPResponseDocumentLoader()),
    "cabf_dv": (_cabf_dv_validator, loader.RFC5280CertificateDocumentLoader()),
}


def _findings(kind: str, der: bytes) -> tuple[list[str], str]:
    """Decode a DER document as pkilint does: the codes of its ERROR and FATAL findings."""
    make_validator, document_loader = LINTERS[kind]
    document = document_loader.load_der_document(der, kind)  # a decode failure raises
    results = make_validator().validate(document.root)
    severity = validation.ValidationFindingSeverity.ERROR
    codes = [
        finding.finding.code
        for result in results
        for finding in result.finding_descriptions
        if finding.finding.severity <= severity  # FATAL is 0, ERROR 1
    ]
    return codes, report.ReportGeneratorPlaintext(results, severity).generate()


def _lint(kind: str, der: bytes) -> None:
    """Fail on any ERROR or FATAL finding, showing pkilint's report."""
    codes, text = _findings(kind, der)
    assert codes == [], text


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module", params=["ECDSA-P256", "RSA-2048", "Ed25519"])
def root(request: pytest.FixtureRequest) -> LocalCA:
    """An EC, an RSA and an Ed25519 root."""
    return create_root(f"certctl {request.param} Root", request.param, now=NOW)


@pytest.fixture(scope="module")
def sub_ca(root: LocalCA) -> LocalCA:
    """A sub-CA of each root."""
    chain, key = mint_sub_ca(root, "certctl Issuing CA", NOW)
    return load_sub_ca(chain, key, NOW)


def _csr(cn: str | None, sans: list[x509.GeneralName]) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else []
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(subject))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def _leaf(ca: LocalCA, csr: str, profile: CertificateProfile = PROFILE) -> x509.Certificate:
    issued = issue_leaf(
        ca,
        csr,
        profile=profile,
        now=NOW,
        crl_url=f"{BASE}/crl/iss-1",
        ocsp_url=f"{BASE}/ocsp/iss-1",
        ca_issuers_url=f"{BASE}/ca/iss-1.cer",
    )
    return x509.load_pem_x509_certificate(issued.pem.encode())


HOST = "web.example.com"
LEAVES = {
    "dns": (HOST, [x509.DNSName(HOST), x509.DNSName("api.example.com")], PROFILE),
    "ip": (None, [x509.IPAddress(ipaddress.ip_address("192.0.2.10"))], PROFILE),
    "must_staple": (HOST, [x509.DNSName(HOST)], replace(PROFILE, must_staple=True)),
    "client_auth": ("svc-backup", [], replace(PROFILE, allowed_ekus=("clientAuth",))),
    "smime": (
        None,
        [x509.RFC822Name("ops@example.com")],
        replace(PROFILE, allowed_ekus=("emailProtection",)),
    ),
}


def test_root_lints_clean(root: LocalCA) -> None:
    """Each root passes the RFC 5280 certificate linter."""
    _lint("certificate", _der(root.certificate))


def test_sub_ca_lints_clean(sub_ca: LocalCA) -> None:
    """A sub-CA passes the RFC 5280 certificate linter."""
    _lint("certificate", _der(sub_ca.certificate))


@pytest.mark.parametrize("kind", sorted(LEAVES))
def test_leaf_lints_clean(sub_ca: LocalCA, kind: str) -> None:
    """DNS and IP SAN, must-staple, client-auth and S/MIME leaves lint clean."""
    cn, sans, profile = LEAVES[kind]
    _lint("certificate", _der(_leaf(sub_ca, _csr(cn, sans), profile)))


def test_wildcard_is_the_one_pkix_finding_of_a_wildcard_leaf(sub_ca: LocalCA) -> None:
    """RFC 5280 has no wildcard syntax; a wildcard SAN (RFC 6125 6.4.3) is its only finding."""
    leaf = _leaf(sub_ca, _csr(HOST, [x509.DNSName(HOST), x509.DNSName("*.web.example.com")]))
    codes, _ = _findings("certificate", _der(leaf))
    assert codes == ["pkix.invalid_domain_name_syntax"]


def test_responder_certificate_lints_clean(sub_ca: LocalCA) -> None:
    """The delegated OCSP responder certificate lints clean."""
    _lint("certificate", _der(make_responder(sub_ca, NOW).certificate))


def test_crl_with_every_reason_lints_clean(sub_ca: LocalCA) -> None:
    """A CRL holding one entry per revocation reason passes the PKIX CRL linter."""
    entries = [
        RevokedEntry(format(1000 + i, "x"), NOW - timedelta(hours=1), reason)
        for i, reason in enumerate(RevocationReason)
    ]
    der = build_crl(
        sub_ca, entries, crl_number=3, this_update=NOW, next_update=NOW + timedelta(days=1)
    )
    _lint("crl", der)


def test_empty_crl_lints_clean(root: LocalCA) -> None:
    """A root's CRL without entries passes the PKIX CRL linter."""
    der = build_crl(root, [], crl_number=1, this_update=NOW, next_update=NOW + timedelta(days=1))
    _lint("crl", der)


@pytest.mark.parametrize("status", list(CertStatus))
@pytest.mark.parametrize("nonce", [False, True])
def test_ocsp_response_lints_clean(sub_ca: LocalCA, status: CertStatus, nonce: bool) -> None:
    """Good, revoked and unknown answers, with and without a nonce, pass the RFC 6960 linter."""
    leaf = _leaf(sub_ca, _csr(HOST, [x509.DNSName(HOST)]))
    builder = ocsp.OCSPRequestBuilder().add_certificate(leaf, sub_ca.certificate, hashes.SHA1())
    if nonce:
        builder = builder.add_extension(x509.OCSPNonce(b"\x01" * 16), critical=False)
    info = parse_request(builder.build().public_bytes(serialization.Encoding.DER))
    revoked = status is CertStatus.REVOKED
    der = build_response(
        sub_ca,
        make_responder(sub_ca, NOW),
        info,
        status,
        this_update=NOW,
        next_update=NOW + timedelta(days=1),
        revoked_at=NOW - timedelta(hours=1) if revoked else None,
        reason=RevocationReason.KEY_COMPROMISE,
    )
    assert ocsp.load_der_ocsp_response(der).certificate_status.name == status.name
    _lint("ocsp", der)


CABF = replace(PROFILE, preset=CABF_SERVERAUTH, max_ttl_seconds=CABF_MAX_TTL_SECONDS)


def test_cabf_serverauth_leaf_passes_the_ca_browser_forum_linter(sub_ca: LocalCA) -> None:
    """A leaf of the cabf-serverauth preset has no ERROR under pkilint's CA/B Forum DV linter."""
    leaf = _leaf(sub_ca, _csr(HOST, [x509.DNSName(HOST)]), CABF)
    _lint("certificate", _der(leaf))
    _lint("cabf_dv", _der(leaf))


def test_default_leaf_lacks_only_certificate_policies_for_the_cabf_linter(
    sub_ca: LocalCA,
) -> None:
    """Without the preset, the one CA/B Forum error is the absent certificatePolicies."""
    codes, _ = _findings("cabf_dv", _der(_leaf(sub_ca, _csr(HOST, [x509.DNSName(HOST)]))))
    assert codes == ["cabf.serverauth.subscriber.certificate_policies_extension_absent"]
