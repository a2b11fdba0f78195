"""ARI rules: certID encoding, the suggested window, Retry-After clamping, when to renew."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from certctl.domain.renewal_info import (
    DEFAULT_RETRY_AFTER,
    MAX_RETRY_AFTER,
    MIN_RETRY_AFTER,
    RenewalInfoState,
    SuggestedWindow,
    ari_cert_id,
    choose_renewal_time,
    next_check_at,
    parse_renewal_info,
    renewal_due,
    serial_der_bytes,
)
from certctl.errors import InvalidRequest

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
WINDOW = SuggestedWindow(NOW + timedelta(days=10), NOW + timedelta(days=12))
# RFC 9773 section 4.1's example: keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:
# 2C:DE:01:C8:D4 and serial 0x87654321.
RFC_AKI = bytes.fromhex("69885B6B87464041E1B37B847BA0AE2CDE01C8D4")


def test_the_rfc_example_cert_id() -> None:
    """The RFC's example key identifier and serial encode to its example certID."""
    assert ari_cert_id(RFC_AKI, 0x87654321) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"


@pytest.mark.parametrize(
    ("serial", "octets"),
    [(0, b"\x00"), (0x7F, b"\x7f"), (0x80, b"\x00\x80"), (0x0100, b"\x01\x00")],
)
def test_serial_octets_are_minimal_twos_complement(serial: int, octets: bytes) -> None:
    """A serial's DER content octets get a leading zero only when the high bit is set."""
    assert serial_der_bytes(serial) == octets


def test_a_negative_serial_is_refused() -> None:
    """A negative serial has no certID."""
    with pytest.raises(InvalidRequest, match="positive"):
        serial_der_bytes(-1)


def test_a_certificate_without_key_identifier_has_no_cert_id() -> None:
    """An empty key identifier cannot name a certificate."""
    with pytest.raises(InvalidRequest, match="Authority Key Identifier"):
        ari_cert_id(b"", 1)


def test_a_window_needs_aware_times() -> None:
    """Naive window times are a TypeError."""
    with pytest.raises(TypeError):
        SuggestedWindow(datetime(2026, 6, 1), NOW)


def test_a_window_ending_before_it_starts_is_refused() -> None:
    """end must come after start."""
    with pytest.raises(InvalidRequest, match="ends before it starts"):
        SuggestedWindow(NOW, NOW)


def test_parse_a_renewal_info_answer() -> None:
    """The RFC's example answer gives its window and explanation URL, in UTC."""
    window = parse_renewal_info(
        {
            "suggestedWindow": {
                "start": "2025-01-02T04:00:00Z",
                "end": "2025-01-03T04:00:00+02:00",
            },
            "explanationURL": "https://acme.example.com/docs/ari",
        }
    )
    assert window == SuggestedWindow(
        datetime(2025, 1, 2, 4, tzinfo=UTC),
        datetime(2025, 1, 3, 2, tzinfo=UTC),
        "https://acme.example.com/docs/ari",
    )


@pytest.mark.parametrize("url", [7, "javascript:alert(1)", "ftp://ca.example/why"])
def test_an_explanation_url_that_is_not_a_web_url_is_dropped(url: object) -> None:
    """An explanationURL that is not an http(s) URL is ignored, the window kept."""
    window = parse_renewal_info(
        {
            "suggestedWindow": {"start": "2025-01-02T04:00:00z", "end": "2025-01-03T04:00:00Z"},
            "explanationURL": url,
        }
    )
    assert window.explanation_url is None
    assert window.start == datetime(2025, 1, 2, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "JSON object"),
        ({}, "no suggestedWindow"),
        ({"suggestedWindow": "soon"}, "no suggestedWindow"),
        ({"suggestedWindow": {"start": 1, "end": "2025-01-03T04:00:00Z"}}, "start must be"),
        ({"suggestedWindow": {"start": "tomorrow", "end": "2025-01-03T04:00:00Z"}}, "not RFC 3339"),
        (
            {"suggestedWindow": {"start": "2025-01-02T04:00:00Z", "end": "2025-01-03T04:00:00"}},
            "no UTC offset",
        ),
    ],
)
def test_malformed_renewal_info_is_refused(document: object, message: str) -> None:
    """Each malformed answer is refused naming the problem."""
    with pytest.raises(InvalidRequest, match=message):
        parse_renewal_info(document)


@pytest.mark.parametrize(
    ("header", "delay"),
    [
        (None, DEFAULT_RETRY_AFTER),
        ("", DEFAULT_RETRY_AFTER),
        ("3600", timedelta(hours=1)),
        ("5", MIN_RETRY_AFTER),
        ("9999999", MAX_RETRY_AFTER),
        ("Mon, 01 Jun 2026 14:00:00 GMT", timedelta(hours=2)),
        ("Mon, 01 Jun 2026 14:00:00 -0000", timedelta(hours=2)),
        ("Mon, 01 Jun 2026 11:00:00 GMT", MIN_RETRY_AFTER),
        ("whenever", DEFAULT_RETRY_AFTER),
    ],
)
def test_retry_after_sets_the_next_check(header: str | None, delay: timedelta) -> None:
    """Retry-After in seconds or as an HTTP date is honoured within [1 min, 1 day]."""
    assert next_check_at(header, NOW) == NOW + delay


def test_a_failed_check_uses_its_own_default() -> None:
    """Without Retry-After the given default applies."""
    assert next_check_at(None, NOW, default=timedelta(hours=1)) == NOW + timedelta(hours=1)


@pytest.mark.parametrize(("fraction", "days"), [(0.0, 10), (0.5, 11), (0.75, 11.5)])
def test_the_renewal_moment_is_inside_the_window(fraction: float, days: float) -> None:
    """The chosen moment is start + fraction * (end - start)."""
    assert choose_renewal_time(WINDOW, NOW, fraction) == NOW + timedelta(days=days)


def test_a_past_window_means_renew_now() -> None:
    """Once the window has ended the moment is now."""
    past = SuggestedWindow(NOW - timedelta(days=2), NOW - timedelta(days=1))
    assert choose_renewal_time(past, NOW, 0.5) == NOW


def test_the_moment_chosen_for_the_same_window_is_kept() -> None:
    """A second check returning the same window keeps the first moment."""
    earlier = NOW + timedelta(days=10, hours=3)
    assert choose_renewal_time(WINDOW, NOW, 0.9, previous=(WINDOW, earlier)) == earlier


def test_a_changed_window_gets_a_new_moment() -> None:
    """A different window (a CA pulling renewal earlier) is chosen in afresh."""
    moved = SuggestedWindow(NOW + timedelta(hours=1), NOW + timedelta(hours=3))
    chosen = choose_renewal_time(moved, NOW, 0.5, previous=(WINDOW, NOW + timedelta(days=11)))
    assert chosen == NOW + timedelta(hours=2)


@pytest.mark.parametrize("fraction", [-0.1, 1.0])
def test_the_fraction_must_be_in_unit_interval(fraction: float) -> None:
    """A fraction outside [0, 1) is a programming error."""
    with pytest.raises(ValueError, match="fraction"):
        choose_renewal_time(WINDOW, NOW, fraction)


def _state(**changes: object) -> RenewalInfoState:
    values: dict[str, object] = {
        "certificate_id": "mc-1",
        "ari_cert_id": "a.b",
        "checked_at": NOW,
        "next_check_at": NOW + DEFAULT_RETRY_AFTER,
        "window": WINDOW,
        "renew_at": NOW + timedelta(days=11),
    }
    values.update(changes)
    return RenewalInfoState(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ari", "policy_due", "lookahead", "due"),
    [
        (None, True, timedelta(0), True),
        (None, False, timedelta(0), False),
        (_state(), True, timedelta(0), False),
        (_state(), False, timedelta(days=11), True),
        (_state(renew_at=NOW - timedelta(seconds=1)), False, timedelta(0), True),
        (_state(last_error="HTTP 500"), True, timedelta(days=30), True),
        (_state(last_error="HTTP 500"), False, timedelta(days=30), False),
        (_state(window=None, renew_at=None), True, timedelta(0), True),
    ],
)
def test_renewal_due(
    ari: RenewalInfoState | None, policy_due: bool, lookahead: timedelta, due: bool
) -> None:
    """A usable window decides alone (earlier or later than the policy); otherwise the policy."""
    assert renewal_due(policy_due=policy_due, ari=ari, now=NOW, lookahead=lookahead) is due
