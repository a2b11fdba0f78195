"""Drift rules: the verify endpoint, stale against foreign, and when a drift is news."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from certctl.domain.drift import (
    Drift,
    DriftKind,
    VerifyEndpoint,
    classify,
    is_new_drift,
    verify_endpoint,
)
from certctl.errors import InvalidRequest

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, None),
        ({"verify_endpoint": "127.0.0.1:8443"}, VerifyEndpoint("127.0.0.1", 8443, None)),
        ({"verify_endpoint": "[::1]:443", "verify_server_name": "a.test"}, VerifyEndpoint("::1", 443, "a.test")),
        ({"verify_endpoint": "h:1", "verify_server_name": 5}, VerifyEndpoint("h", 1, None)),
    ],
)  # fmt: skip
def test_verify_endpoint_reads_host_port_and_sni(
    config: dict[str, object], expected: VerifyEndpoint | None
) -> None:
    """host:port with optional brackets and the SNI name; absent means no check."""
    assert verify_endpoint(config) == expected


@pytest.mark.parametrize("raw", [443, "no-port", ":443", "h:0", "h:99999", "h:x"])
def test_a_malformed_verify_endpoint_is_refused(raw: object) -> None:
    """Anything but host:port with a port in 1-65535 names config.verify_endpoint."""
    with pytest.raises(InvalidRequest) as refused:
        verify_endpoint({"verify_endpoint": raw})
    assert refused.value.field == "config.verify_endpoint"


def test_classify_tells_current_stale_and_foreign_apart() -> None:
    """The current version is no drift, an older version is stale, anything else foreign."""
    assert classify("a", "a", {"b"}) is None
    assert classify("b", "a", {"b"}) is DriftKind.STALE
    assert classify("c", "a", {"b"}) is DriftKind.FOREIGN


def test_a_drift_is_news_once_per_served_and_expected_pair() -> None:
    """No previous drift or a different pair is news; the same pair again is not."""
    previous = Drift("mc", "tg", "h:1", DriftKind.STALE, "b", "a", NOW, NOW)
    assert is_new_drift(None, "b", "a")
    assert not is_new_drift(previous, "b", "a")
    assert is_new_drift(previous, "c", "a")
