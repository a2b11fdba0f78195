"""The DER of one CRL entry (RFC 5280 section 5.1.2.6), fixed when a revocation is recorded.

An entry is `SEQUENCE { userCertificate INTEGER, revocationDate Time, crlEntryExtensions }`
and depends only on the serial, the revocation time and the reason, none of which change
once recorded. Encoding it then, instead of at every CRL regeneration, turns a CRL of
100,000 entries into one read of stored bytes wrapped in a signed header.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from certctl.domain.revocation import RevocationReason, parse_reason
from certctl.errors import InvalidRequest

MAX_SERIAL = 2**159
"""RFC 5280 4.1.2.2: serials are positive and at most 20 octets."""

_SEQUENCE, _INTEGER, _UTC_TIME, _GENERALIZED_TIME = 0x30, 0x02, 0x17, 0x18

# RFC 5280 5.3.1: Extension { extnID id-ce-cRLReasons (2.5.29.21), critical absent (the
# DEFAULT FALSE is never encoded in DER), extnValue OCTET STRING { ENUMERATED code } },
# inside the entry's SEQUENCE OF Extension. An unspecified reason has no extension at all.
_REASON_EXTENSIONS: dict[RevocationReason, bytes] = {
    reason: bytes.fromhex("300c300a0603551d1504030a01") + bytes([reason.code])
    for reason in RevocationReason
    if reason is not RevocationReason.UNSPECIFIED
}


@dataclass(frozen=True, slots=True)
class EncodedEntries:
    """A CA's CRL entries as stored: their DER concatenated in CRL order, and the listed
    revocations stored without one (serial, time, reason), which encode to an error."""

    der: bytes
    unencoded: tuple[tuple[str, datetime, str | None], ...] = ()


def der_length(length: int) -> bytes:
    """A DER length: short form below 128, else the long form (X.690 8.1.3)."""
    if length < 0x80:
        return bytes([length])
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def der_sequence(content: bytes) -> bytes:
    """A SEQUENCE around already encoded content."""
    return b"\x30" + der_length(len(content)) + content


def serial_from_hex(serial_hex: str, *, field: str = "serial_hex") -> int:
    """Parse a certificate serial in hex, refusing what RFC 5280 does not allow."""
    try:
        serial = int(serial_hex, 16)
    except ValueError:
        raise InvalidRequest(f"serial {serial_hex!r} is not hexadecimal", field=field) from None
    if not 0 < serial < MAX_SERIAL:
        raise InvalidRequest(
            f"serial {serial_hex!r} is not a positive number of at most 159 bits", field=field
        )
    return serial


def _time(when: datetime) -> bytes:
    # RFC 5280 5.1.2.6 and 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, both
    # in UTC to the second (fractions are dropped, as X.509 encoders do). A naive time is
    # UTC, as SQLite hands it back.
    utc = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    if utc.year < 1950:
        raise InvalidRequest(
            f"revocation time {when.isoformat()} is before 1950", field="revoked_at"
        )
    if utc.year < 2050:
        return bytes([_UTC_TIME, 13]) + utc.strftime("%y%m%d%H%M%SZ").encode()
    return bytes([_GENERALIZED_TIME, 15]) + utc.strftime("%Y%m%d%H%M%SZ").encode()


def crl_entry_der(serial_hex: str, revoked_at: datetime, reason: str | None) -> bytes:
    """The DER `revokedCertificates` entry of one revocation (RFC 5280 5.1.2.6).

    Refuses what a CRL cannot list: a serial that is not a positive hex number of at most
    159 bits, an unknown reason (naming `reason`), a time before 1950.
    """
    serial = serial_from_hex(serial_hex)
    # Two's complement, minimal: a leading zero octet exactly when the top bit is set.
    number = serial.to_bytes(serial.bit_length() // 8 + 1, "big")
    content = (
        bytes([_INTEGER, len(number)])
        + number
        + _time(revoked_at)
        + _REASON_EXTENSIONS.get(parse_reason(reason), b"")
    )
    return b"\x30" + der_length(len(content)) + content
