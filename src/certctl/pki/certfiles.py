"""Certificates inside files and handshakes whose format is not known beforehand (C8).

A file is PEM when it holds `BEGIN CERTIFICATE` blocks (a bundle gives one entry per block;
private key blocks beside them are never read), DER when the whole file parses as one
certificate (RFC 5280 §4.1), and otherwise not a certificate file at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certctl.domain.certificates import CertificateFacts
from certctl.domain.discovery import CertificateFormat
from certctl.pki.facts import _DECODE_ERRORS, _PEM_BLOCK, certificate_facts

_PEM_MARKER = b"-----BEGIN CERTIFICATE-----"
_DER_SEQUENCE = 0x30


@dataclass(frozen=True)
class FoundCertificate:
    """One certificate read from a file: its position, encoding, facts and PEM text."""

    index: int
    format: CertificateFormat
    facts: CertificateFacts
    pem: str


def certificates_in(data: bytes) -> list[FoundCertificate]:
    """Every certificate in `data` (PEM bundle or one DER certificate); undecodable ones skipped."""
    if _PEM_MARKER in data:
        return _pem_certificates(data)
    if data[:1] == bytes([_DER_SEQUENCE]):
        return _der_certificate(data)
    return []


def _pem_certificates(data: bytes) -> list[FoundCertificate]:
    found: list[FoundCertificate] = []
    for index, block in enumerate(_PEM_BLOCK.findall(data)):
        described = _describe(partial(x509.load_pem_x509_certificate, block))
        if described is not None:
            facts, pem = described
            found.append(FoundCertificate(index, CertificateFormat.PEM, facts, pem))
    return found


def _der_certificate(data: bytes) -> list[FoundCertificate]:
    described = _describe(lambda: x509.load_der_x509_certificate(data))
    if described is None:
        return []
    facts, pem = described
    return [FoundCertificate(0, CertificateFormat.DER, facts, pem)]


def _describe(load: Callable[[], x509.Certificate]) -> tuple[CertificateFacts, str] | None:
    try:
        cert = load()
        return certificate_facts(cert), _pem_of(cert)
    except _DECODE_ERRORS:
        return None


def _pem_of(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def served_chain(chain_der: Sequence[bytes]) -> tuple[CertificateFacts, str]:
    """The leaf's facts and the whole served chain as PEM, leaf first (a TLS probe's answer).

    Raises ValueError when the peer sent something that does not decode as X.509.
    """
    certs = [x509.load_der_x509_certificate(der) for der in chain_der]
    return certificate_facts(certs[0]), "".join(_pem_of(c) for c in certs)
