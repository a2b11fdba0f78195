"""Mint small CA-signed certificates with chosen dates, for the demo estate and tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certctl.pki.ca import CA_KEY_USAGE, CLOCK_SKEW, LocalCA
from certctl.pki.keys import private_key_to_pem


@dataclass(frozen=True)
class MintingCA:
    """A throwaway CA key and certificate able to sign leaves."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def pem(self) -> str:
        """The CA certificate in PEM."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()


def make_ca(common_name: str, now: datetime) -> MintingCA:
    """Create a self-signed ECDSA P-256 CA valid for ten years from `now`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return MintingCA(key=key, certificate=cert)


def mint_leaf(
    ca: MintingCA,
    *,
    common_name: str,
    sans: list[str],
    not_before: datetime,
    not_after: datetime,
) -> str:
    """Return the PEM of a TLS server leaf for `sans`, signed by `ca`, leaf then CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        # RFC 5280 4.2.1.1; ACME renewal information names a certificate by it (RFC 9773).
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    if sans:  # RFC 5280 4.2.1.6: a SAN extension must hold at least one name
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False
        )
    cert = builder.sign(ca.key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM).decode() + ca.pem


def mint_sub_ca(
    root: LocalCA, common_name: str, now: datetime, *, validity_days: int = 1825
) -> tuple[str, str]:
    """A P-256 sub-CA signed by `root` (pathLen 0): its chain (sub-CA, then the root's chain)
    and its key, both PEM, as an enterprise hands them to a GenericCA issuer."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(
            min(now + timedelta(days=validity_days), root.certificate.not_valid_after_utc)
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(root.authority_key_identifier, critical=False)
        .sign(root.key, root.signing_hash)
    )
    chain = cert.public_bytes(serialization.Encoding.PEM).decode() + root.chain_pem
    return chain, private_key_to_pem(key)
