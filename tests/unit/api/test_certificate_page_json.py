"""The certificate list is encoded straight from the records, exactly as its response model."""

from __future__ import annotations

import enum
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from certctl.api.schemas.certificates import CertificateOut, certificate_page_json
from certctl.api.schemas.common import PageOut
from certctl.db.repositories.certificate_reads import FIELDS, _records
from certctl.domain.certificates import CertificateSource, CertificateStatus, ManagedCertificate
from certctl.domain.listing import Page

NOW = datetime(2026, 6, 1, 12, 30, 5, 123456, tzinfo=UTC)

FULL = ManagedCertificate(
    id="mc-1",
    name='api é ✓ "quoted" example',
    common_name="api.example.com",
    created_at=NOW,
    updated_at=NOW.replace(microsecond=0),
    sans=("api.example.com", "www.example.com"),
    environment="production",
    owner_id="o-1",
    team_id="t-1",
    issuer_id="iss-1",
    renewal_policy_id="rp-1",
    certificate_profile_id="prof-1",
    status=CertificateStatus.RENEWAL_IN_PROGRESS,
    expires_at=datetime(2026, 7, 1, tzinfo=timezone(timedelta(hours=2))),
    tags={"app": "api", "tier": "web"},
    source=CertificateSource.ISSUED,
    target_ids=("tgt-1", "tgt-2"),
    last_renewal_at=NOW - timedelta(days=1),
    last_deployment_at=NOW - timedelta(hours=3),
    revoked_at=NOW,
    revocation_reason="superseded",
)
BARE = ManagedCertificate(
    id="mc-2", name="bare", common_name="bare", created_at=NOW, updated_at=NOW
)


def rows_of(cert: ManagedCertificate) -> list[tuple[Any, ...]]:
    """The rows the page statement returns for `cert`: its stored values as the columns give
    them (enums as their text, the JSON columns as JSON text), the total, then one row per
    target link."""
    stored = tuple(
        v.value
        if isinstance(v, enum.Enum)
        else json.dumps(list(v))
        if isinstance(v, tuple)
        else json.dumps(v)
        if isinstance(v, dict)
        else v
        for v in (getattr(cert, name) for name in FIELDS)
    )
    return [(*stored, 1234, target) for target in cert.target_ids or (None,)]


def test_page_json_is_byte_for_byte_the_response_model_json() -> None:
    """Every field set or left empty encodes as PageOut[CertificateOut] would encode it."""
    records = _records([*rows_of(FULL), *rows_of(BARE)])
    page = Page(items=records, total=1234, page=3, per_page=2)
    model_page = Page(items=[FULL, BARE], total=1234, page=3, per_page=2)
    expected = PageOut[CertificateOut].of(model_page, CertificateOut).model_dump_json().encode()
    assert certificate_page_json(page) == expected


def test_records_keep_the_response_models_field_order() -> None:
    """A record's keys are CertificateOut's fields in order, `renewal_info` added last."""
    assert (*FIELDS, "target_ids", "renewal_info") == tuple(CertificateOut.model_fields)


def test_empty_page_keeps_the_envelope() -> None:
    """A page past the end still answers the envelope with the true total."""
    page: Page[dict[str, Any]] = Page(items=[], total=7, page=9, per_page=50)
    assert certificate_page_json(page) == b'{"data":[],"total":7,"page":9,"per_page":50}'
