"""Resource identifiers: ULIDs, prefixed ids and client-chosen slugs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from certctl.domain.ids import check_client_id, new_id, ulid
from certctl.errors import FieldError, InvalidRequest

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
CROCKFORD_LOWER = "0123456789abcdefghjkmnpqrstvwxyz"
ID_MESSAGE = (
    "id must be 1-128 characters of letters, digits, '.', '_' or '-', "
    "starting with a letter or digit"
)


def _decode_time(value: str) -> int:
    """Milliseconds encoded in the first ten characters of a ULID."""
    ms = 0
    for char in value[:10]:
        ms = ms * 32 + CROCKFORD_LOWER.index(char)
    return ms


def test_ulid_is_26_lowercase_crockford_characters() -> None:
    """A ULID is 26 characters of the lowercase Crockford base32 alphabet (no i, l, o, u)."""
    assert re.fullmatch(r"[0-9a-hjkmnp-tv-z]{26}", ulid(NOW)) is not None


def test_ulid_starts_with_encoded_milliseconds() -> None:
    """The first ten characters encode the millisecond timestamp."""
    value = ulid(NOW)
    assert (value[:10], _decode_time(value)) == ("01kt1gw6g0", 1_780_315_200_000)


def test_ulids_of_same_instant_differ_in_random_part() -> None:
    """Two ULIDs of the same millisecond share the time prefix but not the random tail."""
    first, second = ulid(NOW), ulid(NOW)
    assert (first[:10] == second[:10], first[10:] != second[10:]) == (True, True)


@pytest.mark.parametrize(
    ("random", "tail"),
    [(0, "0" * 16), (2**80 - 1, "z" * 16), (0b10001 << 75, "h" + "0" * 15), (31, "0" * 15 + "z")],
)
def test_ulid_random_part_is_sixteen_digits_most_significant_first(
    monkeypatch: pytest.MonkeyPatch, random: int, tail: str
) -> None:
    """The 80 random bits become the last 16 digits, most significant first (no digit lost
    or reordered at either end)."""
    monkeypatch.setattr("certctl.domain.ids.secrets.randbits", lambda bits: random)
    assert ulid(NOW) == "01kt1gw6g0" + tail


@pytest.mark.parametrize(
    "step",
    [timedelta(milliseconds=1), timedelta(seconds=1), timedelta(days=1), timedelta(days=3650)],
)
def test_ulids_sort_in_time_order(step: timedelta) -> None:
    """ULIDs made at increasing instants sort lexically in the same order."""
    values = [ulid(NOW + step * i) for i in range(20)]
    assert sorted(values) == values


def test_new_id_prefixes_a_ulid() -> None:
    """new_id gives `<prefix>-<ulid>` with the ULID of the given instant."""
    value = new_id("t", NOW)
    assert (value[:2], len(value), value[2:12]) == ("t-", 28, "01kt1gw6g0")


def test_new_id_keeps_longer_prefix() -> None:
    """A multi-letter prefix is kept verbatim before the dash."""
    assert new_id("mc", NOW).startswith("mc-01kt1gw6g0")


@pytest.mark.parametrize(
    "value",
    ["a", "Z", "0", "mc-api-prod", "t_platform", "o.alice", "9-lives", "a" * 128],
)
def test_check_client_id_accepts_safe_slug(value: str) -> None:
    """A slug of letters, digits, '.', '_' and '-' starting alphanumeric is returned as is."""
    assert check_client_id(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "-leading-dash",
        ".hidden",
        "_under",
        "a" * 129,
        "has space",
        "slash/id",
        "back\\slash",
        "caf\u00e9",
        "trailing-newline\n",
        "new\nline",
        "semi;colon",
    ],
)
def test_check_client_id_refuses_unsafe_value_naming_id(value: str) -> None:
    """Anything but a safe slug is an InvalidRequest on the `id` field."""
    with pytest.raises(InvalidRequest) as caught:
        check_client_id(value)
    assert caught.value.errors == (FieldError("id", ID_MESSAGE),)
