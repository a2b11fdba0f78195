"""Audit events and the recursive redaction of their details (C10, C11)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType

import pytest

from certctl.domain.access import ActorType
from certctl.domain.audit import (
    REDACTED,
    AuditEvent,
    AuditFilter,
    AuditStatus,
    jsonable,
    mask_email,
    redact,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "key",
    [
        "token",
        "password",
        "api_key",
        "client_secret",
        "private_key",
        "eab_hmac_key",
        "passwd",
        "credentials",
        "Password",
        "X_API_KEY",
    ],
)
def test_secret_key_value_is_redacted(key: str) -> None:
    """A value stored under a secret-looking key is replaced by the redaction marker."""
    assert redact({key: "s3cret", "name": "acme"}) == {key: "[REDACTED]", "name": "acme"}


def test_redaction_marker() -> None:
    """The redaction marker is the literal `[REDACTED]`."""
    assert REDACTED == "[REDACTED]"


def test_secret_nested_in_dict_is_redacted() -> None:
    """Secrets inside nested mappings are redacted; their siblings are kept."""
    details = {"issuer": {"config": {"url": "https://ca.example", "api_key": "k-123"}}}
    assert redact(details) == {
        "issuer": {"config": {"url": "https://ca.example", "api_key": "[REDACTED]"}}
    }


def test_secret_nested_in_list_of_dicts_is_redacted() -> None:
    """Secrets inside dicts inside lists are redacted item by item."""
    details = {"targets": [{"name": "a", "token": "t1"}, {"name": "b", "password": "p2"}]}
    assert redact(details) == {
        "targets": [{"name": "a", "token": "[REDACTED]"}, {"name": "b", "password": "[REDACTED]"}]
    }


def test_list_under_secret_key_is_redacted_whole() -> None:
    """A list stored under a secret key is replaced as a whole."""
    assert redact({"tokens": ["a", "b"]}) == {"tokens": "[REDACTED]"}


def test_mapping_under_secret_key_is_redacted_whole() -> None:
    """A mapping stored under a secret key is replaced as a whole."""
    assert redact({"credentials": {"user": "u", "pass": "p"}}) == {"credentials": "[REDACTED]"}


def test_none_under_secret_key_is_redacted() -> None:
    """Even an empty secret value is replaced, so presence is all that is recorded."""
    assert redact({"password": None}) == {"password": "[REDACTED]"}


def test_email_is_masked() -> None:
    """An address under `email` keeps its first letter and domain only."""
    assert redact({"email": "alice@example.com"}) == {"email": "a***@example.com"}


def test_recipient_is_masked() -> None:
    """An address under `recipient` is masked."""
    assert redact({"recipient": "bob@example.org"}) == {"recipient": "b***@example.org"}


def test_recipients_list_is_masked_item_by_item() -> None:
    """Every address in a `recipients` list is masked."""
    assert redact({"recipients": ["alice@example.com", "bob@example.org"]}) == {
        "recipients": ["a***@example.com", "b***@example.org"]
    }


def test_non_string_email_value_is_untouched() -> None:
    """A non-string value under `email` (such as null) is kept as is."""
    assert redact({"email": None}) == {"email": None}


def test_non_secret_values_are_untouched() -> None:
    """Values under ordinary keys keep their value and type."""
    details = {"name": "api-prod", "days": 30, "enabled": True, "ratio": 0.5, "owner_id": None}
    assert redact(details) == details


def test_tuple_becomes_list() -> None:
    """Tuples come back as lists (the JSON shape of the stored details)."""
    assert redact({"sans": ("a.example", "b.example")}) == {"sans": ["a.example", "b.example"]}


def test_other_values_are_kept_for_jsonable() -> None:
    """A datetime, an int-valued enum or a mapping proxy is kept or walked, never masked."""
    assert redact({"at": NOW, "level": _Level.LOW, "m": MappingProxyType({"k": 1})}) == {
        "at": NOW,
        "level": _Level.LOW,
        "m": {"k": 1},
    }


def test_non_string_keys_become_strings() -> None:
    """Mapping keys are stringified, as JSON would."""
    assert redact({30: "warning"}) == {"30": "warning"}


def test_top_level_scalar_is_untouched() -> None:
    """A bare value with no key is returned unchanged."""
    assert redact("alice@example.com") == "alice@example.com"


def test_redact_does_not_mutate_input() -> None:
    """Redaction builds a new structure and leaves the input alone."""
    details = {"config": {"token": "t"}, "email": "alice@example.com"}
    redact(details)
    assert details == {"config": {"token": "t"}, "email": "alice@example.com"}


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("alice@example.com", "a***@example.com"),
        ("a@example.com", "a***@example.com"),
        ("@example.com", "***@example.com"),
        ("not-an-address", "[REDACTED]"),
        ("", "[REDACTED]"),
    ],
)
def test_mask_email(address: str, masked: str) -> None:
    """mask_email keeps one leading character and the domain, or redacts a non-address."""
    assert mask_email(address) == masked


def test_audit_status_values() -> None:
    """Audit outcomes are exactly success, failure and denied."""
    assert [s.value for s in AuditStatus] == ["success", "failure", "denied"]


def test_audit_event_defaults() -> None:
    """An audit event defaults to success, empty details and no request id."""
    event = AuditEvent(
        id="ae-1",
        occurred_at=NOW,
        actor="system",
        actor_type=ActorType.SYSTEM,
        action="certificate_created",
        resource_type="certificate",
        resource_id="mc-api",
    )
    assert (event.status, event.details, event.request_id) == (AuditStatus.SUCCESS, {}, None)


def test_audit_filter_defaults_filter_nothing() -> None:
    """An empty audit filter sets no criterion."""
    assert AuditFilter() == AuditFilter(
        actor=None,
        action=None,
        resource_type=None,
        resource_id=None,
        status=None,
        since=None,
        until=None,
    )


class _Level(enum.IntEnum):
    LOW = 1


@dataclass(frozen=True)
class _Inner:
    when: datetime
    level: _Level


@dataclass(frozen=True)
class _Outer:
    name: str
    inner: _Inner
    tags: tuple[str, ...]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (AuditStatus.DENIED, "denied"),
        (_Level.LOW, 1),
        (NOW, "2026-06-01T12:00:00+00:00"),
        (
            datetime(2026, 6, 1, 14, tzinfo=timezone(timedelta(hours=2))),
            "2026-06-01T14:00:00+02:00",
        ),
        (("a", "b"), ["a", "b"]),
        ([1, (2, 3)], [1, [2, 3]]),
        ({30: AuditStatus.SUCCESS}, {"30": "success"}),
        (MappingProxyType({"k": (1,)}), {"k": [1]}),
        ("text", "text"),
        (7, 7),
        (None, None),
        (True, True),
    ],
)
def test_jsonable_converts_domain_values(value: object, expected: object) -> None:
    """Enums become their values, datetimes ISO 8601, tuples lists, mapping keys strings."""
    assert jsonable(value) == expected


def test_jsonable_converts_nested_dataclasses() -> None:
    """A dataclass becomes a dict of its fields, converted recursively."""
    value = _Outer(name="x", inner=_Inner(when=NOW, level=_Level.LOW), tags=("t",))
    assert jsonable(value) == {
        "name": "x",
        "inner": {"when": "2026-06-01T12:00:00+00:00", "level": 1},
        "tags": ["t"],
    }


def test_jsonable_converts_an_audit_event() -> None:
    """An audit event becomes a JSON-ready dict with wire spellings."""
    event = AuditEvent(
        id="ae-1",
        occurred_at=NOW,
        actor="system",
        actor_type=ActorType.SYSTEM,
        action="certificate_revoked",
        resource_type="certificate",
        resource_id="mc-api",
        details={"reason": "keyCompromise"},
    )
    assert jsonable(event) == {
        "id": "ae-1",
        "occurred_at": "2026-06-01T12:00:00+00:00",
        "actor": "system",
        "actor_type": "System",
        "action": "certificate_revoked",
        "resource_type": "certificate",
        "resource_id": "mc-api",
        "status": "success",
        "details": {"reason": "keyCompromise"},
        "request_id": None,
        "body_sha256": None,
        "latency_ms": None,
        "prev_hash": "",
        "row_hash": "",
        "seq": None,
    }


def test_jsonable_leaves_a_dataclass_type_alone() -> None:
    """A dataclass class (not an instance) is returned unchanged."""
    assert jsonable(_Inner) is _Inner


@pytest.mark.parametrize("key", ["owner_email", "Email", "notify_email"])
def test_keys_ending_in_email_are_masked(key: str) -> None:
    """Any key ending in `email` is treated as an address and masked."""
    assert redact({key: "alice@example.com"}) == {key: "a***@example.com"}


def test_url_credentials_are_redacted_anywhere() -> None:
    """A URL's user part is a secret in any audit string, whatever its key."""
    details = {"config": {"url": "https://bob:pw@hooks.example.com/x"}, "to": ["ftp://u@h/"]}
    assert redact(details) == {
        "config": {"url": "https://[REDACTED]@hooks.example.com/x"},
        "to": ["ftp://[REDACTED]@h/"],
    }
