"""Audit events and the redaction applied to their details before storage (C11)."""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from certctl.domain.access import ActorType
from certctl.domain.inventory import is_secret_key
from certctl.domain.redaction import mask_url_credentials

REDACTED = "[REDACTED]"
_PII_KEYS = frozenset({"email", "recipient", "recipients"})
# Values JSON holds as they are (exact types: an enum deriving from str or int is converted).
_JSON_SCALARS = frozenset({type(None), str, int, float, bool})


class AuditStatus(enum.StrEnum):
    """Outcome of the audited action."""

    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


@dataclass(frozen=True)
class AuditEvent:
    """One immutable row of the audit trail."""

    id: str
    occurred_at: datetime
    actor: str
    actor_type: ActorType
    action: str
    resource_type: str
    resource_id: str
    status: AuditStatus = AuditStatus.SUCCESS
    details: Mapping[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    # SHA-256 of the request body and the time from request arrival to the record (C11).
    body_sha256: str | None = None
    latency_ms: float | None = None
    # Hash chain (C11): the previous row's hash and this row's, set when the row is appended.
    prev_hash: str = ""
    row_hash: str = ""
    seq: int | None = None


@dataclass(frozen=True)
class AuditFilter:
    """Which audit rows to read; unset fields do not filter."""

    actor: str | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def jsonable(value: Any) -> Any:
    """Turn domain values (tuples, enums, datetimes, nested dataclasses) into JSON values."""
    kind = type(value)
    if kind in _JSON_SCALARS:
        return value
    if kind is dict:  # the usual container, without the abstract-class checks below
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def mask_email(value: str) -> str:
    """Keep an address recognisable but not harvestable: `a***@example.com`."""
    local, _, domain = value.partition("@")
    if not domain:
        return REDACTED
    return f"{local[:1]}***@{domain}"


def redact(value: Any, key: str = "") -> Any:
    """Return `value` with secrets replaced and email addresses masked, recursively."""
    if key and is_secret_key(key):
        return REDACTED
    if isinstance(value, str):
        if _is_address_key(key):
            return mask_email(value)
        return mask_url_credentials(value, REDACTED)  # a URL's user part is a secret (C10)
    if type(value) in _JSON_SCALARS:
        return value
    if type(value) is dict or isinstance(value, Mapping):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, key) for v in value]
    return value


@functools.lru_cache(maxsize=4096)
def _is_address_key(key: str) -> bool:
    """Whether values under `key` are e-mail addresses (asked again for every value)."""
    return key.lower() in _PII_KEYS or key.lower().endswith("email")
