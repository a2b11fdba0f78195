"""Drift (C8): an endpoint that serves something other than the certificate's current version."""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from certctl.errors import InvalidRequest


class DriftKind(enum.StrEnum):
    """Why the served certificate differs."""

    STALE = "stale"
    """An older version of the same certificate: renewed but not reloaded."""
    FOREIGN = "foreign"
    """A certificate certctl does not know as a version of this one: someone replaced it."""


@dataclass(frozen=True)
class Drift:
    """An open drift on one certificate-target mapping."""

    certificate_id: str
    target_id: str
    endpoint: str
    kind: DriftKind
    served_fingerprint: str
    expected_fingerprint: str
    detected_at: datetime
    last_checked_at: datetime
    server_name: str | None = None
    job_id: str | None = None


@dataclass(frozen=True)
class VerifyEndpoint:
    """Where a target's served certificate is checked: host, port and the SNI name to send."""

    host: str
    port: int
    server_name: str | None


def verify_endpoint(config: Mapping[str, Any]) -> VerifyEndpoint | None:
    """The target's `verify_endpoint` ("host:port", IPv6 in brackets), or None when unset."""
    raw = config.get("verify_endpoint")
    if not raw:
        return None
    if not isinstance(raw, str):
        raise InvalidRequest("verify_endpoint must be host:port", field="config.verify_endpoint")
    host, sep, port_text = raw.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise InvalidRequest(
            f"verify_endpoint {raw!r} must be host:port", field="config.verify_endpoint"
        )
    name = config.get("verify_server_name")
    server_name = name if isinstance(name, str) and name else None
    return VerifyEndpoint(host, int(port_text), server_name)


def classify(served: str, expected: str, older: Collection[str]) -> DriftKind | None:
    """None when the endpoint serves the current version; stale or foreign otherwise."""
    if served == expected:
        return None
    return DriftKind.STALE if served in older else DriftKind.FOREIGN


def is_new_drift(previous: Drift | None, served: str, expected: str) -> bool:
    """A drift is news (notify, maybe redeploy) once per served/expected pair, not every tick."""
    if previous is None:
        return True
    return (previous.served_fingerprint, previous.expected_fingerprint) != (served, expected)
