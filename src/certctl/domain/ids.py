"""Resource identifiers: `<prefix>-<ulid>` unless the client picks its own."""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime

from certctl.errors import InvalidRequest

# RFC 4648 base32 digits to Crockford's (lower case): the same 5-bit groups, other symbols.
_TO_CROCKFORD = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"0123456789abcdefghjkmnpqrstvwxyz"
)
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def ulid(now: datetime) -> str:
    """Return a 26-character ULID: 48-bit millisecond time then 80 random bits."""
    value = (int(now.timestamp() * 1000) << 80) | secrets.randbits(80)
    # 26 digits are 130 bits: the 128-bit value, two zero bits first. Shifted to the top of 17
    # bytes, the first 26 base32 digits (RFC 4648 §6, most significant first) are exactly them.
    digits = base64.b32encode((value << 6).to_bytes(17, "big"))[:26]
    return digits.translate(_TO_CROCKFORD).decode("ascii")


def new_id(prefix: str, now: datetime) -> str:
    """Return a fresh id such as `t-01j...` for the given resource prefix."""
    return f"{prefix}-{ulid(now)}"


def check_client_id(value: str) -> str:
    """Accept a client-chosen id if it is a safe slug, else raise naming `id`."""
    if not _ID_PATTERN.fullmatch(value):
        raise InvalidRequest(
            "id must be 1-128 characters of letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            field="id",
        )
    return value
