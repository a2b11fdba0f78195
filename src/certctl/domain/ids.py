"""Resource identifiers: `<prefix>-<ulid>` unless the client picks its own."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from certctl.errors import InvalidRequest

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
# Every pair of digits, by the 10 bits it encodes: a ULID is 13 table look-ups, not 26 steps.
_PAIRS = tuple(high + low for high in _CROCKFORD for low in _CROCKFORD)
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def ulid(now: datetime) -> str:
    """Return a 26-character ULID: 48-bit millisecond time then 80 random bits."""
    value = (int(now.timestamp() * 1000) << 80) | secrets.randbits(80)
    # 26 digits are 130 bits, most significant first: the 128-bit value after two zero bits.
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in range(120, -1, -10)])


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
