"""CRL entries built straight from stored revocation rows (the regenerate_crl path)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509

from certctl.domain.pki import StoredRevocation
from certctl.domain.revocation import RevocationReason
from certctl.errors import InvalidRequest
from certctl.pki.ca import LocalCA, create_root
from certctl.pki.crl import RevokedEntry, build_crl, sign_crl, stored_entries

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
REVOKED_AT = datetime(2026, 6, 1, 10, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture(scope="module")
def ca() -> LocalCA:
    """An RSA root: its PKCS#1 v1.5 signatures are deterministic, so two CRLs can be compared."""
    return create_root("certctl stored CRL CA", "RSA-2048", now=NOW)


def _row(
    serial: str,
    reason: str | None = "superseded",
    *,
    revoked_at: datetime = REVOKED_AT,
    lifetime: timedelta | None = timedelta(days=90),
) -> StoredRevocation:
    not_before = NOW - timedelta(days=10)
    not_after = None if lifetime is None else not_before + lifetime
    return (serial, reason, revoked_at, None if lifetime is None else not_before, not_after)


def _reason(entry: x509.RevokedCertificate) -> x509.ReasonFlags | None:
    try:
        return entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    except x509.ExtensionNotFound:
        return None


def test_rows_become_entries_with_serial_time_and_reason() -> None:
    """Each row gives an entry with its serial, its revocation time and its reason code."""
    entries = stored_entries(
        [_row("0a1b", "keyCompromise"), _row("ff", "superseded")], min_lifetime=HOUR
    )
    assert [e.serial_number for e in entries] == [0x0A1B, 0xFF]
    assert [e.revocation_date_utc for e in entries] == [REVOKED_AT, REVOKED_AT]
    assert [_reason(e) for e in entries] == [
        x509.ReasonFlags.key_compromise,
        x509.ReasonFlags.superseded,
    ]


def test_naive_revocation_time_is_read_as_utc() -> None:
    """A naive time (as SQLite returns it) is the same instant in UTC."""
    naive = REVOKED_AT.replace(tzinfo=None)
    (entry,) = stored_entries([_row("01", revoked_at=naive)], min_lifetime=HOUR)
    assert entry.revocation_date_utc == REVOKED_AT


@pytest.mark.parametrize("reason", [None, "", "unspecified"])
def test_unspecified_or_missing_reason_has_no_reason_extension(reason: str | None) -> None:
    """RFC 5280 5.3.1: an unspecified reason is left out rather than encoded."""
    (entry,) = stored_entries([_row("01", reason)], min_lifetime=HOUR)
    assert len(entry.extensions) == 0


def test_short_lived_versions_are_left_out_and_the_boundary_is_kept() -> None:
    """A version valid for less than the minimum is not listed; exactly the minimum is."""
    rows = [
        _row("01", lifetime=HOUR - timedelta(microseconds=1)),
        _row("02", lifetime=HOUR),
        _row("03", lifetime=timedelta(days=1)),
    ]
    assert [e.serial_number for e in stored_entries(rows, min_lifetime=HOUR)] == [2, 3]


def test_a_version_of_unknown_validity_is_listed() -> None:
    """Without the revoked version's dates the entry stays on the CRL."""
    (entry,) = stored_entries([_row("0c", lifetime=None)], min_lifetime=HOUR)
    assert entry.serial_number == 0x0C


def test_unknown_stored_reason_is_refused_naming_reason() -> None:
    """A reason that is not an RFC 5280 reason is refused, as parse_reason does."""
    with pytest.raises(InvalidRequest) as caught:
        stored_entries([_row("01", "bored")], min_lifetime=HOUR)
    assert caught.value.field == "reason"
    assert "unknown revocation reason 'bored'" in str(caught.value)


@pytest.mark.parametrize("serial", ["0", "zz", "8" + "0" * 39])
def test_invalid_stored_serial_is_refused(serial: str) -> None:
    """A serial that is not a positive hex number of at most 159 bits is refused."""
    with pytest.raises(InvalidRequest):
        stored_entries([_row(serial)], min_lifetime=HOUR)


def test_signed_stored_entries_equal_build_crl_of_the_same_entries(ca: LocalCA) -> None:
    """sign_crl over stored rows encodes the very CRL build_crl makes from RevokedEntry."""
    reasons = list(RevocationReason)
    rows = [_row(f"{i + 1:x}", reasons[i % len(reasons)].value) for i in range(40)]
    entries = [RevokedEntry(s, t, RevocationReason(r or "")) for s, r, t, _, _ in rows]
    times = {"crl_number": 7, "this_update": NOW, "next_update": NOW + timedelta(hours=24)}
    ours = sign_crl(ca, stored_entries(rows, min_lifetime=HOUR), **times)  # type: ignore[arg-type]
    reference = build_crl(ca, entries, **times)  # type: ignore[arg-type]
    assert ours == reference
    assert len(x509.load_der_x509_crl(ours)) == 40
