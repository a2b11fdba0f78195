"""Finding certificates in files of unknown format and in a served chain."""

from __future__ import annotations

import base64
import ssl

import pytest

from certctl.domain.discovery import CertificateFormat
from certctl.pki.certfiles import certificates_in, served_chain
from certctl.testing.tlsserver import OpensslCA, sha256_of


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> OpensslCA:
    """A root and one leaf made with openssl."""
    authority = OpensslCA(tmp_path_factory.mktemp("certfiles"))
    authority.issue("leaf", "leaf.test", ["leaf.test"], serial=5)
    return authority


def test_an_undecodable_pem_block_is_skipped_and_the_others_kept(ca: OpensslCA) -> None:
    """A CERTIFICATE block of garbage does not hide the valid block after it."""
    junk = (
        b"-----BEGIN CERTIFICATE-----\n"
        + base64.b64encode(b"\x30\x00")
        + b"\n-----END CERTIFICATE-----\n"
    )
    found = certificates_in(junk + ca.root.read_bytes())
    assert [(f.index, f.format, f.facts.common_name) for f in found] == [
        (1, CertificateFormat.PEM, "Discovery Test Root")
    ]


def test_text_that_is_not_a_certificate_yields_nothing() -> None:
    """Neither PEM markers nor a DER SEQUENCE: no certificate."""
    assert certificates_in(b"hello") == []


def test_served_chain_gives_leaf_facts_and_the_whole_chain_as_pem(ca: OpensslCA) -> None:
    """The leaf's fingerprint and a PEM chain leaf first."""
    ders = [ssl.PEM_cert_to_DER_cert(p.read_text()) for p in (ca.dir / "leaf.pem", ca.root)]
    facts, pem = served_chain(ders)
    assert facts.fingerprint_sha256 == sha256_of(ca.dir / "leaf.pem")
    assert pem == (ca.dir / "leaf.pem").read_text() + ca.root.read_text()


def test_served_chain_refuses_what_is_not_x509() -> None:
    """Garbage from a peer is a ValueError the caller can report."""
    with pytest.raises(ValueError, match="error parsing asn1"):
        served_chain([b"\x30\x00"])


def test_der_path_reads_a_whole_file(ca: OpensslCA) -> None:
    """A DER file is entry 0 in DER format."""
    der = ssl.PEM_cert_to_DER_cert(ca.root.read_text())
    (found,) = certificates_in(der)
    assert (found.index, found.format) == (0, CertificateFormat.DER)
