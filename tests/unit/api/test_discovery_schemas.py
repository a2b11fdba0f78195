"""The agent's discovery report body reads back as the domain values the service records."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from certctl.api.schemas.discovery import DiscoveryReportIn
from certctl.domain.discovery import CertificateFormat, DiscoveredFile

FOUND = DiscoveredFile(
    path="/etc/nginx/fullchain.pem",
    index=1,
    fingerprint_sha256="ab" * 32,
    common_name="Root",
    sans=("a.test", "b.test"),
    subject_dn="CN=Root",
    issuer_dn="CN=Root",
    serial_number="1a",
    not_before=datetime(2026, 1, 1, tzinfo=UTC),
    not_after=datetime(2027, 1, 1, tzinfo=UTC),
    key_algorithm="ECDSA",
    key_size=256,
    is_ca=True,
    format=CertificateFormat.DER,
    pem="-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n",
)


def test_a_json_report_round_trips_to_the_domain_value() -> None:
    """What an agent sends as JSON becomes the same DiscoveredFile."""
    wire = json.loads(json.dumps({"items": [dataclasses.asdict(FOUND)]}, default=str))
    (item,) = DiscoveryReportIn.model_validate(wire).items
    assert item.to_domain() == FOUND


def test_a_fingerprint_that_is_not_lower_case_hex_is_refused() -> None:
    """The fingerprint must be 64 lower-case hex digits, certctl's stored form."""
    wire = json.loads(json.dumps(dataclasses.asdict(FOUND), default=str))
    wire["fingerprint_sha256"] = "AB" * 32
    with pytest.raises(ValidationError, match="fingerprint_sha256"):
        DiscoveryReportIn.model_validate({"items": [wire]})
