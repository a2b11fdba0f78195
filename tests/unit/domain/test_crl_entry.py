"""The DER of one CRL entry, encoded when its revocation is recorded (RFC 5280 5.1.2.6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from certctl.domain.crl_entry import crl_entry_der, der_length, der_sequence
from certctl.errors import InvalidRequest

AT = datetime(2026, 6, 1, 10, 20, 30, tzinfo=UTC)
UTC_TIME = bytes.fromhex("170d") + b"260601102030Z"


def test_entry_is_serial_and_utc_time_without_extensions_when_unspecified() -> None:
    """An unspecified reason gives SEQUENCE { INTEGER, UTCTime } and nothing more."""
    assert crl_entry_der("0a1b", AT, "unspecified") == (bytes.fromhex("301302020a1b") + UTC_TIME)


@pytest.mark.parametrize("reason", [None, ""])
def test_missing_reason_is_unspecified(reason: str | None) -> None:
    """No reason encodes as unspecified: no crlEntryExtensions."""
    assert crl_entry_der("0a1b", AT, reason) == crl_entry_der("0a1b", AT, "unspecified")


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("keyCompromise", 1),
        ("caCompromise", 2),
        ("affiliationChanged", 3),
        ("superseded", 4),
        ("cessationOfOperation", 5),
        ("certificateHold", 6),
        ("privilegeWithdrawn", 9),
    ],
)
def test_reason_is_a_non_critical_reason_code_extension(reason: str, code: int) -> None:
    """RFC 5280 5.3.1: id-ce-cRLReasons with the ENUMERATED code, criticality left out."""
    extension = bytes.fromhex("300c300a0603551d1504030a01") + bytes([code])
    assert crl_entry_der("01", AT, reason) == (bytes.fromhex("3020020101") + UTC_TIME + extension)


def test_serial_with_top_bit_set_gets_a_leading_zero_octet() -> None:
    """A positive INTEGER whose first octet is 0x80 or more is prefixed with 0x00."""
    assert crl_entry_der("80", AT, None)[2:6] == bytes.fromhex("02020080")
    assert crl_entry_der("7f", AT, None)[2:5] == bytes.fromhex("02017f")


def test_largest_serial_takes_twenty_octets() -> None:
    """2^159 - 1 is 20 octets with no padding (RFC 5280 4.1.2.2)."""
    der = crl_entry_der("7" + "f" * 39, AT, None)
    assert der[2:4] == bytes.fromhex("0214")
    assert der[4:24] == bytes.fromhex("7f" + "ff" * 19)


def test_time_is_converted_to_utc_and_fractions_are_dropped() -> None:
    """An aware time in another zone and with microseconds is the same UTC second."""
    other = (AT + timedelta(microseconds=999_999)).astimezone(timezone(timedelta(hours=5)))
    assert crl_entry_der("01", other, None) == crl_entry_der("01", AT, None)


def test_naive_time_is_read_as_utc() -> None:
    """A naive time (as SQLite returns it) is UTC."""
    assert crl_entry_der("01", AT.replace(tzinfo=None), None) == crl_entry_der("01", AT, None)


def test_from_2050_the_time_is_generalized_time() -> None:
    """RFC 5280 5.1.2.6: dates in 2050 or later are GeneralizedTime, 2049 UTCTime."""
    late = datetime(2050, 1, 1, tzinfo=UTC)
    assert crl_entry_der("01", late, None)[5:] == bytes.fromhex("180f") + b"20500101000000Z"
    last = datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert crl_entry_der("01", last, None)[5:] == bytes.fromhex("170d") + b"491231235959Z"


def test_time_before_1950_is_refused_naming_revoked_at() -> None:
    """Neither time type of a CRL entry covers a year before 1950 in this profile."""
    with pytest.raises(InvalidRequest) as caught:
        crl_entry_der("01", datetime(1949, 12, 31, 23, 59, 59, tzinfo=UTC), None)
    assert caught.value.field == "revoked_at"
    assert "is before 1950" in str(caught.value)


def test_unknown_reason_is_refused_naming_reason() -> None:
    """A reason that is not an RFC 5280 reason is refused, as parse_reason does."""
    with pytest.raises(InvalidRequest) as caught:
        crl_entry_der("01", AT, "bored")
    assert caught.value.field == "reason"
    assert "unknown revocation reason 'bored'" in str(caught.value)


@pytest.mark.parametrize("serial", ["0", "zz", "8" + "0" * 39])
def test_invalid_serial_is_refused_naming_serial_hex(serial: str) -> None:
    """A serial that is not a positive hex number of at most 159 bits is refused."""
    with pytest.raises(InvalidRequest) as caught:
        crl_entry_der(serial, AT, None)
    assert caught.value.field == "serial_hex"


@pytest.mark.parametrize(
    ("length", "encoded"),
    [(0, "00"), (127, "7f"), (128, "8180"), (255, "81ff"), (256, "820100"), (2**24, "8401000000")],
)
def test_lengths_use_the_short_form_below_128_and_the_long_form_above(
    length: int, encoded: str
) -> None:
    """X.690 8.1.3: one octet below 128, else 0x80 | count followed by the octets."""
    assert der_length(length) == bytes.fromhex(encoded)


def test_sequence_wraps_content_with_tag_and_length() -> None:
    """A SEQUENCE is 0x30, the content's length, the content."""
    assert der_sequence(b"\x05\x00") == bytes.fromhex("30020500")
    assert der_sequence(b"\x00" * 200)[:3] == bytes.fromhex("3081c8")
