"""Revocation reasons and their RFC 5280 CRLReason codes (C6)."""

from __future__ import annotations

import pytest

from certctl.domain.revocation import RevocationReason, parse_reason
from certctl.errors import FieldError, InvalidRequest

ALLOWED = (
    "unspecified, keyCompromise, caCompromise, affiliationChanged, superseded, "
    "cessationOfOperation, certificateHold, privilegeWithdrawn"
)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("unspecified", 0),
        ("keyCompromise", 1),
        ("caCompromise", 2),
        ("affiliationChanged", 3),
        ("superseded", 4),
        ("cessationOfOperation", 5),
        ("certificateHold", 6),
        ("privilegeWithdrawn", 9),
    ],
)
def test_reason_has_rfc5280_code(value: str, code: int) -> None:
    """Each accepted reason maps to its RFC 5280 section 5.3.1 CRLReason code."""
    assert RevocationReason(value).code == code


def test_only_spec_reasons_are_accepted() -> None:
    """The enum holds exactly the eight spec reasons (no removeFromCRL, no aACompromise)."""
    assert ", ".join(r.value for r in RevocationReason) == ALLOWED


@pytest.mark.parametrize("value", [None, ""])
def test_empty_reason_means_unspecified(value: str | None) -> None:
    """A missing or empty reason is unspecified."""
    assert parse_reason(value) is RevocationReason.UNSPECIFIED


@pytest.mark.parametrize("reason", list(RevocationReason))
def test_known_reason_parses_to_member(reason: RevocationReason) -> None:
    """Each reason's wire spelling parses to its member."""
    assert parse_reason(reason.value) is reason


@pytest.mark.parametrize(
    "value", ["removeFromCRL", "KeyCompromise", "key_compromise", "1", "aACompromise", " "]
)
def test_unknown_reason_is_refused_naming_reason(value: str) -> None:
    """An unknown or mis-cased reason is an InvalidRequest on `reason` listing the allowed ones."""
    with pytest.raises(InvalidRequest) as caught:
        parse_reason(value)
    assert caught.value.errors == (
        FieldError("reason", f"unknown revocation reason {value!r}; allowed: {ALLOWED}"),
    )
