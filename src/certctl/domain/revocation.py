"""Revocation reasons (RFC 5280 section 5.3.1 CRLReason codes)."""

from __future__ import annotations

import enum

from certctl.errors import InvalidRequest


class RevocationReason(enum.StrEnum):
    """The reasons certctl accepts, named as in RFC 5280."""

    UNSPECIFIED = "unspecified"
    KEY_COMPROMISE = "keyCompromise"
    CA_COMPROMISE = "caCompromise"
    AFFILIATION_CHANGED = "affiliationChanged"
    SUPERSEDED = "superseded"
    CESSATION_OF_OPERATION = "cessationOfOperation"
    CERTIFICATE_HOLD = "certificateHold"
    PRIVILEGE_WITHDRAWN = "privilegeWithdrawn"

    @property
    def code(self) -> int:
        """The CRLReason code (7 is unused by RFC 5280; removeFromCRL 8 is not accepted)."""
        return _CODES[self]


_CODES = {
    RevocationReason.UNSPECIFIED: 0,
    RevocationReason.KEY_COMPROMISE: 1,
    RevocationReason.CA_COMPROMISE: 2,
    RevocationReason.AFFILIATION_CHANGED: 3,
    RevocationReason.SUPERSEDED: 4,
    RevocationReason.CESSATION_OF_OPERATION: 5,
    RevocationReason.CERTIFICATE_HOLD: 6,
    RevocationReason.PRIVILEGE_WITHDRAWN: 9,
}


def parse_reason(value: str | None) -> RevocationReason:
    """Empty means unspecified; an unknown reason is refused naming `reason`."""
    if not value:
        return RevocationReason.UNSPECIFIED
    try:
        return RevocationReason(value)
    except ValueError:
        allowed = ", ".join(r.value for r in RevocationReason)
        raise InvalidRequest(
            f"unknown revocation reason {value!r}; allowed: {allowed}", field="reason"
        ) from None
