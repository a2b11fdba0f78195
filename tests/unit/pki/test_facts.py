"""Reading certificate facts (CN, SANs, serial, validity, fingerprint, key) out of PEM input.

The golden vectors in `vectors/` are produced by the deterministic recipes below (fixed keys,
serials and dates, Ed25519 signatures); `python tests/unit/pki/test_facts.py` rewrites them and
`test_committed_vector_matches_its_recipe` keeps the files and the recipes in step.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtensionOID, NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from certctl.domain.certificates import CertificateFacts
from certctl.errors import FieldError, InvalidRequest
from certctl.pki.facts import certificate_facts, first_certificate_der, read_pem, split_pem_chain

VECTORS = Path(__file__).parent / "vectors"
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
NOT_BEFORE = datetime(2026, 5, 1, tzinfo=UTC)
NOT_AFTER = datetime(2026, 7, 30, tzinfo=UTC)
PARSE_ERROR = "certificate #{} in the PEM does not parse: "

CA_KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
CA_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certctl test vectors"),
        x509.NameAttribute(NameOID.COMMON_NAME, "certctl Vector CA"),
    ]
)
CA_DN = "CN=certctl Vector CA,O=certctl test vectors"

Extension = tuple[x509.ExtensionType, bool]


def _cn(value: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, value)])


def _ed25519(seed: int) -> ed25519.Ed25519PublicKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32).public_key()


def _build(
    subject: x509.Name,
    *,
    public_key: CertificatePublicKeyTypes | None = None,
    serial: int = 0x1000,
    extensions: tuple[Extension, ...] = (),
    issuer: x509.Name = CA_NAME,
    not_before: datetime = NOT_BEFORE,
    not_after: datetime = NOT_AFTER,
) -> x509.Certificate:
    """A certificate signed (deterministically) by the vector CA key."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key or _ed25519(1))
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(CA_KEY, None)


def _pem(*certs: x509.Certificate) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)


def _der_to_pem(der: bytes) -> str:
    body = base64.encodebytes(der).decode()
    return f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n"


def _san(*names: x509.GeneralName, critical: bool = False) -> Extension:
    return (x509.SubjectAlternativeName(list(names)), critical)


def _facts(cert: x509.Certificate) -> CertificateFacts:
    return read_pem(_pem(cert))[0]


# --- golden vector recipes -------------------------------------------------------------


def _vector_ca() -> x509.Certificate:
    return _build(
        CA_NAME,
        public_key=CA_KEY.public_key(),
        serial=0x7EC7,
        extensions=((x509.BasicConstraints(ca=True, path_length=None), True),),
        not_before=datetime(2026, 1, 1, tzinfo=UTC),
        not_after=datetime(2036, 1, 1, tzinfo=UTC),
    )


def _idn_san() -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "B\u00fccherei GmbH"),
            x509.NameAttribute(NameOID.COMMON_NAME, "b\u00fccher.example"),
        ]
    )
    names = ["xn--bcher-kva.example", "*.xn--bcher-kva.example", "xn--mnchen-3ya.example"]
    san = _san(*(x509.DNSName(n) for n in names))
    return _build(subject, public_key=_ed25519(2), serial=0x1D1, extensions=(san,))


def _ipv6_san() -> x509.Certificate:
    san = _san(
        x509.IPAddress(ipaddress.ip_address("2001:0db8:0000:0000:0000:0000:0000:0001")),
        x509.DNSName("v6.example"),
        x509.IPAddress(ipaddress.ip_address("::1")),
        x509.IPAddress(ipaddress.ip_address("192.0.2.10")),
        x509.IPAddress(ipaddress.ip_address("fe80::1:2:3:4")),
    )
    key = ec.derive_private_key(0x5EED_0006, ec.SECP256R1()).public_key()
    return _build(_cn("v6.example"), public_key=key, serial=0x06, extensions=(san,))


def _no_cn() -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Org"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Edge"),
        ]
    )
    san = _san(x509.DNSName("no-cn.example"))
    return _build(subject, public_key=_ed25519(3), serial=0xC0FFEE, extensions=(san,))


def _critical_san() -> x509.Certificate:
    san = _san(
        x509.DNSName("critical.example"),
        x509.RFC822Name("hostmaster@critical.example"),
        x509.UniformResourceIdentifier("https://critical.example/"),
        critical=True,
    )
    return _build(x509.Name([]), public_key=_ed25519(4), serial=0x0C, extensions=(san,))


def _hundred_sans() -> x509.Certificate:
    san = _san(*(x509.DNSName(f"host-{i:03d}.example.net") for i in range(100)))
    key = ec.derive_private_key(0x5EED_0100, ec.SECP384R1()).public_key()
    return _build(_cn("host-000.example.net"), public_key=key, serial=0x100, extensions=(san,))


def _bitstring_cn() -> bytes:
    """A CN encoded as BIT STRING; patched after signing, so the signature no longer verifies."""
    cert = _build(_cn("\x00legacy.example"), public_key=_ed25519(5), serial=0xB175)
    der = cert.public_bytes(serialization.Encoding.DER)
    utf8_cn = bytes.fromhex("0603550403") + b"\x0c\x0f\x00"
    assert der.count(utf8_cn) == 1
    return der.replace(utf8_cn, bytes.fromhex("0603550403") + b"\x03\x0f\x00")


VECTOR_RECIPES: dict[str, Callable[[], str]] = {
    "ca.pem": lambda: _pem(_vector_ca()),
    "idn_san.pem": lambda: _pem(_idn_san(), _vector_ca()),
    "ipv6_san.pem": lambda: _pem(_ipv6_san()),
    "no_cn.pem": lambda: _pem(_no_cn()),
    "critical_san.pem": lambda: _pem(_critical_san()),
    "hundred_sans.pem": lambda: _pem(_hundred_sans()),
    "bitstring_cn.pem": lambda: _der_to_pem(_bitstring_cn()),
}


GOLDEN = {
    "ca.pem": CertificateFacts(
        common_name="certctl Vector CA",
        sans=(),
        serial_number="7ec7",
        not_before=datetime(2026, 1, 1, tzinfo=UTC),
        not_after=datetime(2036, 1, 1, tzinfo=UTC),
        fingerprint_sha256="86ad1756369ece741a9cf8311a52dad8953f97eb06fab207805d4d4e0e100c1e",
        subject_dn=CA_DN,
        issuer_dn=CA_DN,
        key_algorithm="Ed25519",
        key_size=256,
        is_ca=True,
    ),
    "idn_san.pem": CertificateFacts(
        common_name="b\u00fccher.example",
        sans=("xn--bcher-kva.example", "*.xn--bcher-kva.example", "xn--mnchen-3ya.example"),
        serial_number="1d1",
        not_before=NOT_BEFORE,
        not_after=NOT_AFTER,
        fingerprint_sha256="28490a732eabd5f3d267de3f93073a0d0e9ff8449694bfb68380c0fab0de3b61",
        subject_dn="CN=b\u00fccher.example,O=B\u00fccherei GmbH",
        issuer_dn=CA_DN,
        key_algorithm="Ed25519",
        key_size=256,
        is_ca=False,
    ),
    "ipv6_san.pem": CertificateFacts(
        common_name="v6.example",
        sans=("v6.example", "2001:db8::1", "::1", "192.0.2.10", "fe80::1:2:3:4"),
        serial_number="6",
        not_before=NOT_BEFORE,
        not_after=NOT_AFTER,
        fingerprint_sha256="09d9b00f024b461f2c97614e5e07e30bce301e06a3453258f55895a485724f0c",
        subject_dn="CN=v6.example",
        issuer_dn=CA_DN,
        key_algorithm="ECDSA",
        key_size=256,
        is_ca=False,
    ),
    "no_cn.pem": CertificateFacts(
        common_name="",
        sans=("no-cn.example",),
        serial_number="c0ffee",
        not_before=NOT_BEFORE,
        not_after=NOT_AFTER,
        fingerprint_sha256="af9bb88ac516aed7e43f3b427cce34ccc13c02b60962751a2bf5c2153bd1107c",
        subject_dn="OU=Edge,O=Example Org",
        issuer_dn=CA_DN,
        key_algorithm="Ed25519",
        key_size=256,
        is_ca=False,
    ),
    "critical_san.pem": CertificateFacts(
        common_name="",
        sans=("critical.example", "hostmaster@critical.example", "https://critical.example/"),
        serial_number="c",
        not_before=NOT_BEFORE,
        not_after=NOT_AFTER,
        fingerprint_sha256="b4479b52d7c17c67ee94945f52927352781ae8b98a3b352fbb746e63740e304f",
        subject_dn="",
        issuer_dn=CA_DN,
        key_algorithm="Ed25519",
        key_size=256,
        is_ca=False,
    ),
    "hundred_sans.pem": CertificateFacts(
        common_name="host-000.example.net",
        sans=tuple(f"host-{i:03d}.example.net" for i in range(100)),
        serial_number="100",
        not_before=NOT_BEFORE,
        not_after=NOT_AFTER,
        fingerprint_sha256="70e5ea33350a82ed274bd6a44d0f5173b6a62f7820b639743a8949f85a1a2d41",
        subject_dn="CN=host-000.example.net",
        issuer_dn=CA_DN,
        key_algorithm="ECDSA",
        key_size=384,
        is_ca=False,
    ),
}


def _vector(name: str) -> str:
    return (VECTORS / name).read_bytes().decode()


@pytest.fixture(scope="module")
def ca_pem() -> str:
    """The vector CA in PEM."""
    return _pem(_vector_ca())


@pytest.fixture(scope="module")
def leaf_pem() -> str:
    """A plain leaf issued by the vector CA, in PEM."""
    san = _san(x509.DNSName("api.example.com"))
    return _pem(_build(_cn("api.example.com"), serial=0xA11CE, extensions=(san,)))


# --- golden vectors ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VECTOR_RECIPES))
def test_committed_vector_matches_its_recipe(name: str) -> None:
    """Each committed vector is byte for byte what its recipe in this module produces."""
    assert _vector(name) == VECTOR_RECIPES[name]()


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_vector_facts(name: str) -> None:
    """The facts read from each golden vector are exactly the recorded ones."""
    assert read_pem(_vector(name))[0] == GOLDEN[name]


def test_idn_vector_keeps_chain_leaf_first() -> None:
    """The IDN vector's normalised chain is the leaf then the CA, as in the file."""
    facts, chain = read_pem(_vector("idn_san.pem"))
    assert (chain, facts.common_name) == (_vector("idn_san.pem"), "b\u00fccher.example")


def test_critical_san_vector_really_has_a_critical_san_and_empty_subject() -> None:
    """The critical-SAN vector carries what its name says: empty subject, critical SAN."""
    cert = x509.load_pem_x509_certificate(_vector("critical_san.pem").encode())
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert (len(cert.subject), ext.critical) == (0, True)


def test_bitstring_cn_vector_is_refused_naming_pem() -> None:
    """A certificate whose CN is a BIT STRING is refused as an InvalidRequest on `pem`."""
    with pytest.raises(InvalidRequest) as caught:
        read_pem(_vector("bitstring_cn.pem"))
    assert caught.value.field == "pem"


# --- facts of built certificates ---------------------------------------------------------


def test_common_name_is_read() -> None:
    """The subject CN becomes the common name."""
    assert _facts(_build(_cn("api.example.com"))).common_name == "api.example.com"


def test_first_common_name_wins() -> None:
    """With several CN attributes, the first one is the common name."""
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "first.example"),
            x509.NameAttribute(NameOID.COMMON_NAME, "second.example"),
        ]
    )
    assert _facts(_build(subject)).common_name == "first.example"


def test_missing_common_name_is_empty() -> None:
    """A subject without a CN gives an empty common name."""
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example")])
    assert _facts(_build(subject)).common_name == ""


def test_no_san_extension_gives_no_sans() -> None:
    """A certificate without a SAN extension has no SANs."""
    assert _facts(_build(_cn("legacy.example"))).sans == ()


def test_sans_are_grouped_dns_ip_email_uri() -> None:
    """SANs come back grouped by type (DNS, IP, email, URI), each group in certificate order."""
    san = _san(
        x509.UniformResourceIdentifier("spiffe://example.org/api"),
        x509.RFC822Name("ops@example.com"),
        x509.IPAddress(ipaddress.ip_address("2001:db8::2")),
        x509.DNSName("b.example"),
        x509.IPAddress(ipaddress.ip_address("192.0.2.1")),
        x509.DNSName("a.example"),
        x509.UniformResourceIdentifier("https://a.example/"),
    )
    assert _facts(_build(_cn("a.example"), extensions=(san,))).sans == (
        "b.example",
        "a.example",
        "2001:db8::2",
        "192.0.2.1",
        "ops@example.com",
        "spiffe://example.org/api",
        "https://a.example/",
    )


def test_other_general_name_types_are_ignored() -> None:
    """Directory names, registered ids and other names are not reported as SANs."""
    san = _san(
        x509.DirectoryName(_cn("dir.example")),
        x509.RegisteredID(x509.ObjectIdentifier("1.2.3.4")),
        x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3"), b"\x0c\x03a@b"),
        x509.DNSName("only.example"),
    )
    assert _facts(_build(_cn("x"), extensions=(san,))).sans == ("only.example",)


@pytest.mark.parametrize(
    ("address", "text"),
    [
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:DB8:0:0:8:800:200C:417A", "2001:db8::8:800:200c:417a"),
        ("::", "::"),
        ("192.0.2.255", "192.0.2.255"),
    ],
)
def test_ip_sans_use_canonical_text(address: str, text: str) -> None:
    """IP SANs are reported in canonical form (compressed, lowercase IPv6)."""
    san = _san(x509.IPAddress(ipaddress.ip_address(address)))
    assert _facts(_build(_cn("ip"), extensions=(san,))).sans == (text,)


@pytest.mark.parametrize(
    ("serial", "text"),
    [(1, "1"), (0xAB, "ab"), (0x0100, "100"), (0xC0FFEE, "c0ffee"), (2**159 - 1, "7" + "f" * 39)],
)
def test_serial_is_lowercase_hex_without_padding(serial: int, text: str) -> None:
    """The serial number is lowercase hex with no leading zeros or prefix."""
    assert _facts(_build(_cn("s"), serial=serial)).serial_number == text


def test_fingerprint_is_sha256_of_der() -> None:
    """The fingerprint is the lowercase hex SHA-256 of the DER encoding."""
    cert = _build(_cn("fp.example"))
    der = cert.public_bytes(serialization.Encoding.DER)
    assert _facts(cert).fingerprint_sha256 == hashlib.sha256(der).hexdigest()


def test_validity_dates_are_utc_aware() -> None:
    """not_before and not_after are the certificate's dates, timezone-aware in UTC."""
    facts = _facts(_build(_cn("d"), not_before=NOW, not_after=NOW + timedelta(days=47)))
    assert (facts.not_before, facts.not_after, facts.not_after.tzinfo) == (
        NOW,
        datetime(2026, 7, 18, 12, tzinfo=UTC),
        UTC,
    )


def test_distinguished_names_are_rfc4514() -> None:
    """Subject and issuer DNs are RFC 4514 strings, most specific attribute first."""
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example, Inc."),
            x509.NameAttribute(NameOID.COMMON_NAME, "api.example.com"),
        ]
    )
    facts = _facts(_build(subject))
    assert (facts.subject_dn, facts.issuer_dn) == (
        r"CN=api.example.com,O=Example\, Inc.,C=DE",
        CA_DN,
    )


KEYS: dict[str, tuple[Callable[[], CertificatePublicKeyTypes], str, int]] = {
    "ec-p256": (lambda: ec.generate_private_key(ec.SECP256R1()).public_key(), "ECDSA", 256),
    "ec-p384": (lambda: ec.generate_private_key(ec.SECP384R1()).public_key(), "ECDSA", 384),
    "ec-p521": (lambda: ec.generate_private_key(ec.SECP521R1()).public_key(), "ECDSA", 521),
    "rsa-2048": (lambda: rsa.generate_private_key(65537, 2048).public_key(), "RSA", 2048),
    "ed25519": (lambda: ed25519.Ed25519PrivateKey.generate().public_key(), "Ed25519", 256),
    "ed448": (lambda: ed448.Ed448PrivateKey.generate().public_key(), "Ed448", 456),
    "dsa-2048": (lambda: dsa.generate_private_key(2048).public_key(), "DSA", 2048),
    "x25519": (lambda: x25519.X25519PrivateKey.generate().public_key(), "unknown", 0),
}


@pytest.mark.parametrize("kind", list(KEYS))
def test_key_algorithm_and_size(kind: str) -> None:
    """The subject key is described by algorithm name and size in bits."""
    make_key, algorithm, size = KEYS[kind]
    facts = _facts(_build(_cn(kind), public_key=make_key()))
    assert (facts.key_algorithm, facts.key_size) == (algorithm, size)


@pytest.mark.parametrize(
    ("extensions", "is_ca"),
    [
        (((x509.BasicConstraints(ca=True, path_length=0), True),), True),
        (((x509.BasicConstraints(ca=True, path_length=None), False),), True),
        (((x509.BasicConstraints(ca=False, path_length=None), True),), False),
        ((), False),
    ],
    ids=["ca-pathlen-0", "ca-noncritical", "end-entity", "no-basic-constraints"],
)
def test_ca_flag_follows_basic_constraints(extensions: tuple[Extension, ...], is_ca: bool) -> None:
    """is_ca is the basic constraints CA flag, False when the extension is absent."""
    assert _facts(_build(_cn("bc"), extensions=extensions)).is_ca is is_ca


def test_certificate_facts_works_on_parsed_certificate() -> None:
    """certificate_facts describes an already-parsed certificate without PEM."""
    cert = _build(_cn("direct.example"), serial=0x42)
    facts = certificate_facts(cert)
    assert (facts.common_name, facts.serial_number) == ("direct.example", "42")


# --- PEM bundles -------------------------------------------------------------------------


def test_first_certificate_der_is_the_first_of_the_chain(leaf_pem: str, ca_pem: str) -> None:
    """Of a CA chain in PEM, the first certificate alone comes back in DER."""
    der = first_certificate_der(ca_pem + leaf_pem)
    assert der == x509.load_pem_x509_certificate(ca_pem.encode()).public_bytes(
        serialization.Encoding.DER
    )


def test_split_pem_chain_keeps_order(leaf_pem: str, ca_pem: str) -> None:
    """Every CERTIFICATE block is parsed, in the order given."""
    certs = split_pem_chain(leaf_pem + ca_pem)
    assert [c.serial_number for c in certs] == [0xA11CE, 0x7EC7]


def test_facts_are_those_of_the_first_block(leaf_pem: str, ca_pem: str) -> None:
    """The first certificate in the bundle is the one described."""
    assert read_pem(ca_pem + leaf_pem)[0].common_name == "certctl Vector CA"


def test_single_certificate_chain_is_its_pem(leaf_pem: str) -> None:
    """A lone certificate's normalised chain is its own canonical PEM."""
    assert read_pem(leaf_pem)[1] == leaf_pem


def test_chain_is_normalised_from_crlf_and_surrounding_text(leaf_pem: str, ca_pem: str) -> None:
    """CRLF line endings and text around the blocks are dropped from the normalised chain."""
    messy = (
        "subject=CN = api.example.com\r\n"
        + leaf_pem.replace("\n", "\r\n")
        + "\r\nissuer chain follows\r\n"
        + ca_pem.replace("\n", "\r\n")
        + "trailing text"
    )
    facts, chain = read_pem(messy)
    assert (facts.common_name, chain) == ("api.example.com", leaf_pem + ca_pem)


# --- refused input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello world",
        "-----BEGIN CERTIFICATE-----",
        "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n",
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n",
        "MIIBszCCAVmgAwIBAgIUe",
    ],
    ids=["empty", "garbage", "begin-only", "empty-block", "csr", "public-key", "bare-base64"],
)
def test_text_without_certificate_block_is_refused(text: str) -> None:
    """Input with no complete CERTIFICATE block is an InvalidRequest on `pem`."""
    with pytest.raises(InvalidRequest) as caught:
        read_pem(text)
    assert caught.value.errors == (FieldError("pem", "no PEM CERTIFICATE block found"),)


@pytest.mark.parametrize(
    "label", ["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY"]
)
def test_pem_with_private_key_is_refused(leaf_pem: str, label: str) -> None:
    """A bundle holding any private key block is refused, even next to a valid certificate."""
    key_block = f"-----BEGIN {label}-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END {label}-----\n"
    with pytest.raises(InvalidRequest) as caught:
        read_pem(leaf_pem + key_block)
    assert caught.value.errors == (
        FieldError("pem", "PEM contains a private key; send only certificates"),
    )


def test_real_private_key_alone_is_refused() -> None:
    """A genuine PKCS#8 private key PEM is refused as a private key."""
    key_pem = (
        ed25519.Ed25519PrivateKey.from_private_bytes(bytes(32))
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(InvalidRequest) as caught:
        read_pem(key_pem)
    assert caught.value.detail == "PEM contains a private key; send only certificates"


def _truncated(pem: str) -> str:
    lines = pem.splitlines()
    return "\n".join([lines[0], *lines[1:3], lines[-1]]) + "\n"


def _corrupt_base64(pem: str) -> str:
    lines = pem.splitlines()
    lines[2] = "!!!!" + lines[2][4:]
    return "\n".join(lines) + "\n"


def _not_der(pem: str) -> str:
    body = base64.b64encode(b"this is not DER").decode()
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize(
    "damage", [_truncated, _corrupt_base64, _not_der], ids=["truncated", "bad-base64", "not-der"]
)
def test_damaged_block_is_refused_naming_its_position(
    leaf_pem: str, damage: Callable[[str], str]
) -> None:
    """A block that does not parse is refused on `pem` as certificate #1 with the reason."""
    with pytest.raises(InvalidRequest) as caught:
        read_pem(damage(leaf_pem))
    detail = caught.value.detail
    assert (detail.startswith(PARSE_ERROR.format(1)), caught.value.errors) == (
        True,
        (FieldError("pem", detail),),
    )


def test_damaged_second_block_is_named_as_number_two(leaf_pem: str, ca_pem: str) -> None:
    """A damaged intermediate is reported as certificate #2."""
    with pytest.raises(InvalidRequest) as caught:
        read_pem(leaf_pem + _truncated(ca_pem))
    assert caught.value.detail.startswith(PARSE_ERROR.format(2))


def test_errors_name_the_given_field() -> None:
    """The caller chooses the field path the error names."""
    with pytest.raises(InvalidRequest) as caught:
        read_pem("nothing here", field="certificates[3].pem")
    assert caught.value.field == "certificates[3].pem"


def test_malformed_extension_is_refused_naming_pem() -> None:
    """A certificate whose SAN extension does not parse is an InvalidRequest on `pem`."""
    bad = (x509.UnrecognizedExtension(ExtensionOID.SUBJECT_ALTERNATIVE_NAME, b"\x00"), False)
    with pytest.raises(InvalidRequest) as caught:
        read_pem(_pem(_build(_cn("bad-ext"), extensions=(bad,))))
    assert caught.value.field == "pem"


def test_duplicate_extension_is_refused_naming_pem() -> None:
    """A certificate with two SAN extensions is an InvalidRequest on `pem`."""
    cert = _build(
        _cn("dup"),
        extensions=(
            _san(x509.DNSName("a.example")),
            (x509.IssuerAlternativeName([x509.DNSName("a.example")]), False),
        ),
    )
    ian_oid = bytes.fromhex("0603551d12")
    der = cert.public_bytes(serialization.Encoding.DER).replace(
        ian_oid, bytes.fromhex("0603551d11")
    )
    with pytest.raises(InvalidRequest) as caught:
        read_pem(_der_to_pem(der))
    assert caught.value.field == "pem"


# --- properties --------------------------------------------------------------------------

PEM_FRAMED = st.builds(
    lambda body: f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n",
    st.one_of(st.binary(min_size=1).map(lambda b: base64.b64encode(b).decode()), st.text()),
)


@settings(database=None, deadline=None, max_examples=300)
@given(st.one_of(st.text(), PEM_FRAMED))
def test_read_pem_raises_only_invalid_request(text: str) -> None:
    """On any text, read_pem either succeeds or raises InvalidRequest naming `pem`."""
    try:
        read_pem(text)
    except InvalidRequest as exc:
        field = exc.field
    else:
        field = "pem"
    assert field == "pem"


NO_MARKERS = st.text().filter(lambda s: "-----" not in s)


@settings(database=None, deadline=None, max_examples=100)
@given(prefix=NO_MARKERS, suffix=NO_MARKERS)
def test_text_around_a_certificate_does_not_change_its_facts(prefix: str, suffix: str) -> None:
    """Arbitrary text before and after a certificate leaves its facts and chain unchanged."""
    pem = _pem(_build(_cn("api.example.com"), serial=0xA11CE))
    assert read_pem(prefix + pem + suffix) == read_pem(pem)


def _write_vectors() -> None:
    VECTORS.mkdir(exist_ok=True)
    for name, recipe in VECTOR_RECIPES.items():
        (VECTORS / name).write_bytes(recipe().encode())


if __name__ == "__main__":
    _write_vectors()


def test_text_that_is_not_unicode_is_refused_naming_pem() -> None:
    """A lone surrogate cannot be encoded; it is an InvalidRequest, not a crash."""
    with pytest.raises(InvalidRequest) as caught:
        read_pem("\ud800")
    assert (caught.value.field, caught.value.detail) == ("pem", "PEM text is not valid Unicode")
