"""CRLs signed around entries encoded when their revocations were recorded (C6, RFC 5280 5.1).

`regenerate_crl` reads the CA's entries as stored DER (`domain.crl_entry`), already in CRL
order, so none is decoded or rebuilt: the header (version, signature algorithm, issuer,
thisUpdate, nextUpdate, extensions) comes from the same X.509 builder as `sign_crl`, the
entries go where RFC 5280 5.1.2.6 puts them, and the result is signed as that builder
signs. The CRL is therefore byte for byte the one `sign_crl` makes of the same entries.
"""

from __future__ import annotations

from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from certctl.domain.crl_entry import der_length, der_sequence
from certctl.pki.ca import LocalCA
from certctl.pki.crl import sign_crl

_CONTEXT_0 = 0xA0
"""The tag of `crlExtensions [0] EXPLICIT Extensions`, the field after revokedCertificates."""


def sign_encoded_crl(
    ca: LocalCA,
    entries_der: bytes,
    *,
    crl_number: int,
    this_update: datetime,
    next_update: datetime,
) -> bytes:
    """The DER CRL listing `entries_der` (concatenated DER entries), signed by the CA.

    No entries means no `revokedCertificates` field at all (RFC 5280 5.1.2.6), exactly as
    `sign_crl` leaves it out; number and times are checked by `sign_crl` as well.
    """
    header = sign_crl(
        ca, [], crl_number=crl_number, this_update=this_update, next_update=next_update
    )
    if not entries_der:
        return header
    tbs_header, algorithm, _ = _children(header)
    fields = _children(tbs_header)
    # The header always carries extensions (CRL number, authority key identifier).
    at = next(i for i, field in enumerate(fields) if field[0] == _CONTEXT_0)
    tbs = der_sequence(b"".join([*fields[:at], der_sequence(entries_der), *fields[at:]]))
    signature = _sign(ca, tbs)
    bit_string = b"\x03" + der_length(len(signature) + 1) + b"\x00" + signature
    return der_sequence(tbs + algorithm + bit_string)


def _children(der: bytes) -> list[bytes]:
    """The encoded elements inside the constructed element `der` (each tag, length, value)."""
    start, end = _value_span(der, 0)
    children = []
    while start < end:
        _, value_end = _value_span(der, start)
        children.append(der[start:value_end])
        start = value_end
    return children


def _value_span(der: bytes, at: int) -> tuple[int, int]:
    """Where the value of the element at `at` starts and ends (X.690 8.1.3 lengths)."""
    first = der[at + 1]
    if first < 0x80:
        return at + 2, at + 2 + first
    octets = first & 0x7F
    length = int.from_bytes(der[at + 2 : at + 2 + octets], "big")
    return at + 2 + octets, at + 2 + octets + length


def _sign(ca: LocalCA, tbs: bytes) -> bytes:
    """Sign as the X.509 builder does: PKCS#1 v1.5 for RSA, ECDSA, or pure Ed25519."""
    key, digest = ca.key, ca.signing_hash
    if isinstance(key, rsa.RSAPrivateKey):
        assert digest is not None
        return key.sign(tbs, padding.PKCS1v15(), digest)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        assert digest is not None
        return key.sign(tbs, ec.ECDSA(digest))
    return key.sign(tbs)
