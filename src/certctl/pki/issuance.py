"""Sign leaf certificates from a CSR with the local CA, shaped by a certificate profile (C5).

Signing is CPU-bound: `issue_leaf` stays synchronous and callers on the event loop run it in
a worker thread.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID

from certctl.domain.policies import CABF_SERVERAUTH, DEFAULT_EKUS, CertificateProfile
from certctl.errors import CAUnavailable, InvalidRequest, PolicyViolation
from certctl.pki.ca import CLOCK_SKEW, LocalCA
from certctl.pki.csr import EKU_OIDS, TTL_FIELD, CSRFacts, parse_csr

DEFAULT_TTL = timedelta(days=90)
BR_DOMAIN_VALIDATED = x509.ObjectIdentifier("2.23.140.1.2.1")
"""CA/Browser Forum reserved policy OID of domain-validated TLS server certificates."""
SERIAL_BITS = 159
"""RFC 5280 4.1.2.2 caps serials at 20 octets; 159 random bits keep them positive."""


@dataclass(frozen=True)
class IssuedCertificate:
    """A signed leaf: its PEM, the issuing chain (CA first, leaf excluded) and its facts."""

    pem: str
    chain_pem: str
    serial_hex: str
    not_before: datetime
    not_after: datetime
    fingerprint: str
    certificate: x509.Certificate = field(compare=False, repr=False)
    """The signed leaf itself, for its facts without decoding the PEM again."""

    @property
    def full_chain_pem(self) -> str:
        """Leaf followed by the issuing chain, as servers deploy it."""
        return self.pem + self.chain_pem


def issue_leaf(
    ca: LocalCA,
    csr: CSRFacts | str,
    *,
    profile: CertificateProfile,
    now: datetime,
    ttl_seconds: int | None = None,
    issuer_default_ttl: timedelta = DEFAULT_TTL,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
    ca_issuers_url: str | None = None,
) -> IssuedCertificate:
    """Sign a leaf for an already policy-checked CSR (facts, or PEM parsed here)."""
    facts = csr if isinstance(csr, CSRFacts) else parse_csr(csr)
    ekus = _ekus(profile)
    builder = (
        x509.CertificateBuilder()
        .subject_name(facts.subject)
        .issuer_name(ca.certificate.subject)
        .public_key(facts.public_key)
        .serial_number(max(1, secrets.randbits(SERIAL_BITS)))
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(_not_after(ca, profile, now, ttl_seconds, issuer_default_ttl))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(facts, ekus), critical=True)
        .add_extension(x509.ExtendedKeyUsage([EKU_OIDS[e] for e in ekus]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(facts.public_key), critical=False)
        .add_extension(ca.authority_key_identifier, critical=False)
    )
    for extension, critical in _optional_extensions(
        facts, profile, crl_url, ocsp_url, ca_issuers_url
    ):
        builder = builder.add_extension(extension, critical=critical)
    return _issued(builder.sign(ca.key, ca.signing_hash), ca)


def _ekus(profile: CertificateProfile) -> tuple[str, ...]:
    ekus = profile.allowed_ekus or DEFAULT_EKUS
    if "OCSPSigning" in ekus:
        # A CA-signed leaf with OCSPSigning could answer OCSP for the whole CA (RFC 6960
        # 4.2.2.2); only the CA's own responder certificate may carry it.
        raise PolicyViolation(
            "OCSPSigning is reserved for the CA's own OCSP responder",
            rule="eku",
            field="allowed_ekus",
        )
    return ekus


def _not_after(
    ca: LocalCA,
    profile: CertificateProfile,
    now: datetime,
    ttl_seconds: int | None,
    default: timedelta,
) -> datetime:
    """The shortest of requested, profile maximum and issuer default, inside the CA's life."""
    if ttl_seconds is not None and ttl_seconds <= 0:
        raise InvalidRequest(f"TTL must be positive, got {ttl_seconds} seconds", field=TTL_FIELD)
    limits = [default]
    if ttl_seconds is not None:
        limits.append(timedelta(seconds=ttl_seconds))
    if profile.max_ttl_seconds:
        limits.append(timedelta(seconds=profile.max_ttl_seconds))
    ca_end = ca.certificate.not_valid_after_utc
    if ca_end <= now:
        raise CAUnavailable(f"the CA certificate expired on {ca_end.isoformat()}")
    return min(now + min(limits), ca_end)


def _key_usage(facts: CSRFacts, ekus: tuple[str, ...]) -> x509.KeyUsage:
    is_rsa = isinstance(facts.public_key, rsa.RSAPublicKey)
    smime = "emailProtection" in ekus
    # S/MIME (RFC 8550 4.4.2): non-repudiation for signed mail, key agreement for ECDH.
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=smime,
        key_encipherment=is_rsa,
        data_encipherment=False,
        key_agreement=smime and isinstance(facts.public_key, ec.EllipticCurvePublicKey),
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _optional_extensions(
    facts: CSRFacts,
    profile: CertificateProfile,
    crl_url: str | None,
    ocsp_url: str | None,
    ca_issuers_url: str | None,
) -> list[tuple[x509.ExtensionType, bool]]:
    extensions: list[tuple[x509.ExtensionType, bool]] = []
    names = _general_names(facts)
    if names:
        # RFC 5280 4.2.1.6: with an empty subject the SAN extension must be critical.
        extensions.append((x509.SubjectAlternativeName(names), len(facts.subject) == 0))
    if crl_url:
        extensions.append((_distribution_points(crl_url), False))
    access = _access_descriptions(ocsp_url, ca_issuers_url)
    if access:
        extensions.append((x509.AuthorityInformationAccess(access), False))
    if profile.preset == CABF_SERVERAUTH:
        policy = x509.PolicyInformation(BR_DOMAIN_VALIDATED, None)
        extensions.append((x509.CertificatePolicies([policy]), False))
    if profile.must_staple:  # RFC 7633: TLS Feature status_request
        extensions.append((x509.TLSFeature([x509.TLSFeatureType.status_request]), False))
    return extensions


def _general_names(facts: CSRFacts) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in facts.dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in facts.ip_addresses]
    names += [x509.RFC822Name(e) for e in facts.emails]
    return names


def _distribution_points(url: str) -> x509.CRLDistributionPoints:
    point = x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(url)],
        relative_name=None,
        reasons=None,
        crl_issuer=None,
    )
    return x509.CRLDistributionPoints([point])


def _access_descriptions(
    ocsp_url: str | None, ca_issuers_url: str | None
) -> list[x509.AccessDescription]:
    access = []
    if ocsp_url:
        access.append(
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
            )
        )
    if ca_issuers_url:
        access.append(
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS,
                x509.UniformResourceIdentifier(ca_issuers_url),
            )
        )
    return access


def _issued(cert: x509.Certificate, ca: LocalCA) -> IssuedCertificate:
    return IssuedCertificate(
        pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        chain_pem=ca.chain_pem,
        serial_hex=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        certificate=cert,
    )
