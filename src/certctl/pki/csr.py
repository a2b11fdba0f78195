"""Parse certificate signing requests and check them against a certificate profile (C5).

Signature verification is CPU-bound: `parse_csr` stays synchronous and callers on the event
loop run it in a worker thread.
"""

from __future__ import annotations

import ipaddress
import re
import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certctl.domain.policies import (
    CABF_SERVERAUTH,
    DEFAULT_EKUS,
    DEFAULT_KEY_RULES,
    CertificateProfile,
    KeyAlgorithmRule,
)
from certctl.errors import InvalidRequest, PolicyViolation
from certctl.pki.keys import (
    describe_public_key,
    generate_key,
    private_key_to_pem,
    signing_hash,
)

CSR_FIELD = "csr_pem"
TTL_FIELD = "ttl_seconds"
SHORT_LIVED_SECONDS = 3600
"""Below this TTL a certificate is short-lived (C6): it needs the profile's permission."""

EKU_OIDS: Mapping[str, x509.ObjectIdentifier] = {
    "serverAuth": ExtendedKeyUsageOID.SERVER_AUTH,
    "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "codeSigning": ExtendedKeyUsageOID.CODE_SIGNING,
    "emailProtection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "timeStamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "OCSPSigning": ExtendedKeyUsageOID.OCSP_SIGNING,
}
_EKU_NAMES = {oid: name for name, oid in EKU_OIDS.items()}

# Errors cryptography raises while decoding a request's fields (it parses lazily).
_DECODE_ERRORS = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)
_IP_TYPES = (ipaddress.IPv4Address, ipaddress.IPv6Address)

# RFC 5280 Appendix A upper bounds (ub-*) of the subject attributes a leaf may carry.
UPPER_BOUNDS: Mapping[x509.ObjectIdentifier, int] = {
    NameOID.COMMON_NAME: 64,
    NameOID.ORGANIZATION_NAME: 64,
    NameOID.ORGANIZATIONAL_UNIT_NAME: 64,
    NameOID.LOCALITY_NAME: 128,
    NameOID.STATE_OR_PROVINCE_NAME: 128,
    NameOID.SERIAL_NUMBER: 64,
    NameOID.TITLE: 64,
    NameOID.EMAIL_ADDRESS: 255,
    NameOID.POSTAL_CODE: 40,
    NameOID.PSEUDONYM: 128,
    NameOID.GIVEN_NAME: 32768,
    NameOID.SURNAME: 32768,
}
_ATTRIBUTE_NAMES = {
    NameOID.COMMON_NAME: "commonName",
    NameOID.ORGANIZATION_NAME: "organizationName",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "organizationalUnitName",
    NameOID.LOCALITY_NAME: "localityName",
    NameOID.STATE_OR_PROVINCE_NAME: "stateOrProvinceName",
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.TITLE: "title",
    NameOID.EMAIL_ADDRESS: "emailAddress",
    NameOID.POSTAL_CODE: "postalCode",
    NameOID.PSEUDONYM: "pseudonym",
    NameOID.COUNTRY_NAME: "countryName",
}
_COUNTRY = re.compile(r"[A-Za-z]{2}")
INTERNAL_TLDS = frozenset(
    # Special-use names (RFC 6761, RFC 6762, RFC 7686, RFC 8375 home.arpa) and suffixes
    # commonly used inside networks that no public registry delegates.
    {"local", "localhost", "localdomain", "internal", "intranet", "lan", "home", "corp",
     "private", "test", "example", "invalid", "onion", "arpa"}
)  # fmt: skip
MAX_DNS_NAME = 253
_LDH_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


@dataclass(frozen=True)
class CSRFacts:
    """What a signature-checked CSR asks for; `requested_ekus` uses profile EKU names."""

    subject: x509.Name
    common_name: str
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    emails: tuple[str, ...]
    public_key: CertificatePublicKeyTypes
    key_algorithm: str
    key_size: int
    requested_ekus: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every subject alternative name, DNS then IP then email."""
        return self.dns_names + self.ip_addresses + self.emails


def parse_csr(pem: str) -> CSRFacts:
    """Decode a PEM CSR and verify its signature; refuse anything unusable naming `csr_pem`."""
    try:
        csr = x509.load_pem_x509_csr(pem.encode())
        if not csr.is_signature_valid:
            raise InvalidRequest("the CSR's signature does not verify", field=CSR_FIELD)
        return _facts(csr)
    except UnicodeError as exc:  # before ValueError, its base class
        raise InvalidRequest("PEM text is not valid Unicode", field=CSR_FIELD) from exc
    except _DECODE_ERRORS as exc:
        raise InvalidRequest(f"not a usable PEM CSR: {exc}", field=CSR_FIELD) from exc


def _facts(csr: x509.CertificateSigningRequest) -> CSRFacts:
    public_key = csr.public_key()
    algorithm, size = describe_public_key(public_key)
    dns_names, ips, emails = _split_sans(_requested_sans(csr))
    usages = _requested_ekus(csr)
    subject = _subject(csr)
    return CSRFacts(
        subject=subject,
        common_name=common_name(subject),
        dns_names=dns_names,
        ip_addresses=ips,
        emails=emails,
        public_key=public_key,
        key_algorithm=algorithm,
        key_size=size,
        requested_ekus=tuple(_EKU_NAMES.get(oid, oid.dotted_string) for oid in usages),
    )


def _subject(csr: x509.CertificateSigningRequest) -> x509.Name:
    # cryptography warns while decoding attributes outside their X.520 bounds; check_subject
    # refuses those with a named rule instead, so the warning is noise here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return csr.subject


def _requested_sans(csr: x509.CertificateSigningRequest) -> list[x509.GeneralName]:
    try:
        return list(csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return []


def _requested_ekus(csr: x509.CertificateSigningRequest) -> list[x509.ObjectIdentifier]:
    try:
        return list(csr.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return []


def common_name(name: x509.Name) -> str:
    """The first CN of a name, or "" without one."""
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    # cryptography only decodes a CN as text (a BIT STRING CN fails to parse), so str() is
    # the identity here; it narrows the declared `str | bytes`.
    return str(attrs[0].value) if attrs else ""


def _split_sans(
    names: list[x509.GeneralName],
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    dns: list[str] = []
    ips: list[str] = []
    emails: list[str] = []
    for name in names:
        if isinstance(name, x509.DNSName):
            dns.append(name.value)
        elif isinstance(name, x509.IPAddress) and isinstance(name.value, _IP_TYPES):
            ips.append(str(name.value))
        elif isinstance(name, x509.RFC822Name):
            emails.append(name.value)
        else:
            raise ValueError(f"unsupported SAN {name}; only DNS, IP and email names are issued")
    return tuple(dns), tuple(ips), tuple(emails)


def check_csr(
    facts: CSRFacts,
    profile: CertificateProfile,
    *,
    requested_ttl_seconds: int,
    declared_names: Collection[str] | None = None,
) -> None:
    """Refuse a request the profile does not allow, naming the first rule it breaks.

    With `declared_names` (the certificate record's CN and SANs) the CSR may carry only
    those names, or names matching the profile's SAN patterns.
    """
    _check_key(facts, profile.allowed_key_algorithms or DEFAULT_KEY_RULES)
    check_subject(facts)
    check_dns_names(facts)
    if declared_names is not None:
        check_declared_names(facts, declared_names, profile.required_san_patterns)
    _check_names(facts, profile.required_san_patterns)
    if "serverAuth" in (profile.allowed_ekus or DEFAULT_EKUS):
        check_tls_server_names(facts)
    if profile.preset == CABF_SERVERAUTH:
        check_public_names(facts)
    _check_ekus(facts, profile.allowed_ekus or DEFAULT_EKUS)
    _check_ttl(requested_ttl_seconds, profile)


def check_subject(facts: CSRFacts) -> None:
    """Refuse subject attributes a leaf may not carry (RFC 5280 App. A upper bounds)."""
    for attribute in facts.subject:
        value = str(attribute.value)
        oid = attribute.oid
        name = _ATTRIBUTE_NAMES.get(oid, oid.dotted_string)
        if oid == NameOID.COUNTRY_NAME and not _COUNTRY.fullmatch(value):
            raise PolicyViolation(
                f"subject country {value!r} must be exactly two letters (ISO 3166-1 alpha-2)",
                rule="subject_country",
                field=CSR_FIELD,
            )
        limit = UPPER_BOUNDS.get(oid)
        if limit is not None and not 1 <= len(value) <= limit:
            raise PolicyViolation(
                f"subject {name} has {len(value)} characters; X.520 allows 1 to {limit}",
                rule="subject_attribute_length",
                field=CSR_FIELD,
            )
        if oid == NameOID.EMAIL_ADDRESS and value.lower() not in {e.lower() for e in facts.emails}:
            # RFC 5280 4.1.2.6: emailAddress is legacy; the address must also be an
            # rfc822Name SAN, where clients look for it.
            raise PolicyViolation(
                f"subject emailAddress {value!r} is not among the CSR's email SANs",
                rule="subject_email_in_san",
                field=CSR_FIELD,
            )


def check_dns_names(facts: CSRFacts) -> None:
    """Refuse DNS SANs that are not preferred name syntax (RFC 5280 4.2.1.6, RFC 1034 3.5)."""
    for name in facts.dns_names:
        problem = dns_name_problem(name)
        if problem:
            raise PolicyViolation(
                f"DNS name {name!r} {problem}", rule="dns_name_syntax", field=CSR_FIELD
            )


def dns_name_problem(name: str) -> str | None:
    """Why `name` is not a valid DNS SAN, or None; a wildcard is the whole leftmost label."""
    if name.endswith("."):
        return "ends with a dot"
    if len(name) > MAX_DNS_NAME:
        return f"is longer than {MAX_DNS_NAME} characters"
    labels = name.split(".")
    for index, label in enumerate(labels):
        if label == "*" and index == 0 and len(labels) > 2:
            continue
        if "*" in label:
            return "has a wildcard that is not the whole leftmost label of three or more"
        if not _LDH_LABEL.fullmatch(label):
            return f"has label {label!r}, not letters, digits and inner hyphens of 1-63"
    return None


def check_declared_names(
    facts: CSRFacts, declared: Collection[str], patterns: tuple[str, ...]
) -> None:
    """Refuse a name the certificate record does not declare and no profile pattern allows."""
    allowed = {_normal(n) for n in declared if n}
    compiled = [re.compile(p) for p in patterns]
    cn = (facts.common_name,) if facts.common_name else ()
    for name in facts.names + cn:
        if _normal(name) in allowed or any(p.fullmatch(name) for p in compiled):
            continue
        raise PolicyViolation(
            f"name {name!r} is not declared by the certificate (declared: "
            f"{', '.join(sorted(allowed)) or 'none'}) and matches no SAN pattern of its profile",
            rule="declared_names",
            field=CSR_FIELD,
        )


def check_tls_server_names(facts: CSRFacts) -> None:
    """TLS server certificates name their hosts in SANs, the CN being one of them (RFC 6125)."""
    hosts = {_normal(n) for n in facts.dns_names + facts.ip_addresses}
    if not hosts:
        raise PolicyViolation(
            "a TLS server certificate needs at least one DNS or IP subject alternative name",
            rule="san_required",
            field=CSR_FIELD,
        )
    if facts.common_name and _normal(facts.common_name) not in hosts:
        raise PolicyViolation(
            f"common name {facts.common_name!r} is not among the DNS and IP SANs",
            rule="cn_in_san",
            field=CSR_FIELD,
        )


def check_public_names(facts: CSRFacts) -> None:
    """BR 7.1.2.7.12 (cabf-serverauth): no internal names or reserved IP addresses."""
    for name in facts.dns_names:
        labels = name.lower().split(".")
        if len(labels) < 2 or labels[-1] in INTERNAL_TLDS or labels[-1].isdigit():
            raise PolicyViolation(
                f"DNS name {name!r} is an internal name, not allowed by the "
                f"{CABF_SERVERAUTH} preset",
                rule="internal_name",
                field=CSR_FIELD,
            )
    for ip in facts.ip_addresses:
        if not ipaddress.ip_address(ip).is_global:
            raise PolicyViolation(
                f"IP address {ip} is private or reserved, not allowed by the "
                f"{CABF_SERVERAUTH} preset",
                rule="internal_name",
                field=CSR_FIELD,
            )


def _normal(name: str) -> str:
    """Compare IPs by value and DNS names and addresses without case."""
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name.lower()


def _check_key(facts: CSRFacts, rules: tuple[KeyAlgorithmRule, ...]) -> None:
    sizes = [rule.min_size for rule in rules if rule.algorithm == facts.key_algorithm]
    allowed = ", ".join(f"{rule.algorithm} >= {rule.min_size} bits" for rule in rules)
    if not sizes:
        raise PolicyViolation(
            f"{facts.key_algorithm} keys are not allowed by the profile; allowed: {allowed}",
            rule="key_algorithm",
            field=CSR_FIELD,
        )
    if facts.key_size < min(sizes):
        raise PolicyViolation(
            f"{facts.key_algorithm} key of {facts.key_size} bits is below the profile's "
            f"minimum of {min(sizes)} bits",
            rule="key_algorithm",
            field=CSR_FIELD,
        )


def _check_names(facts: CSRFacts, patterns: tuple[str, ...]) -> None:
    # The CN is checked too: legacy clients still match it, so it must obey the same rule.
    # Patterns must match the whole name, so `.*\.example\.com` cannot match
    # `www.example.com.attacker.net`.
    if not patterns:
        return
    compiled = [re.compile(p) for p in patterns]
    cn = (facts.common_name,) if facts.common_name else ()
    for name in facts.names + cn:
        if not any(p.fullmatch(name) for p in compiled):
            raise PolicyViolation(
                f"name {name!r} matches none of the profile's SAN patterns: {', '.join(patterns)}",
                rule="san_pattern",
                field=CSR_FIELD,
            )


def _check_ekus(facts: CSRFacts, allowed: tuple[str, ...]) -> None:
    for eku in facts.requested_ekus:
        if eku not in allowed:
            raise PolicyViolation(
                f"extended key usage {eku} is not allowed by the profile; "
                f"allowed: {', '.join(allowed)}",
                rule="eku",
                field=CSR_FIELD,
            )


def _check_ttl(ttl: int, profile: CertificateProfile) -> None:
    if ttl <= 0:
        raise InvalidRequest(f"TTL must be positive, got {ttl} seconds", field=TTL_FIELD)
    if profile.max_ttl_seconds and ttl > profile.max_ttl_seconds:
        raise PolicyViolation(
            f"requested TTL of {ttl} seconds exceeds the profile's maximum of "
            f"{profile.max_ttl_seconds} seconds",
            rule="max_ttl",
            field=TTL_FIELD,
        )
    if ttl < SHORT_LIVED_SECONDS and not profile.allow_short_lived:
        raise PolicyViolation(
            f"requested TTL of {ttl} seconds is short-lived (under {SHORT_LIVED_SECONDS} "
            "seconds) and the profile does not allow short-lived certificates",
            rule="short_lived",
            field=TTL_FIELD,
        )


def make_csr(common_name: str, names: tuple[str, ...], key_spec: str) -> tuple[str, str]:
    """A fresh key and a CSR for it (server-side key generation, demo only): (csr, key) PEM.

    `names` become DNS, IP or email SANs by their shape; the CN is left out when longer than
    X.509's 64-character limit (the SANs carry the names).
    """
    key = generate_key(key_spec)
    general: list[x509.GeneralName] = []
    for name in dict.fromkeys(n for n in (common_name, *names) if n):
        general.append(_general_name(name))
    subject = (
        [x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if 0 < len(common_name) <= 64 else []
    )
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(subject))
    if general:
        builder = builder.add_extension(x509.SubjectAlternativeName(general), critical=False)
    csr = builder.sign(key, signing_hash(key))
    return csr.public_bytes(serialization.Encoding.PEM).decode(), private_key_to_pem(key)


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        pass
    if "@" in name:
        return x509.RFC822Name(name)
    return x509.DNSName(name)
