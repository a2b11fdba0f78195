"""Inventory values: secret-field detection, email and CIDR checks, enum spellings (C1)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from certctl.domain.inventory import (
    SECRET_MASK,
    AgentGroup,
    AgentStatus,
    IssuerType,
    TargetType,
    check_agent_group,
    check_email,
    is_secret_key,
)
from certctl.errors import FieldError, InvalidRequest

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _group(cidr: str | None) -> AgentGroup:
    return AgentGroup(id="ag-1", name="edge", created_at=NOW, updated_at=NOW, match_ip_cidr=cidr)


@pytest.mark.parametrize(
    "name",
    [
        "secret",
        "client_secret",
        "password",
        "db_passwd",
        "token",
        "access_token",
        "private_key",
        "api_key",
        "eab_hmac_key",
        "credential",
        "PASSWORD",
        "Api_Key",
        "passphrase",
        "apiKey",
        "routing_key",
        "genie_key",
        "slack_webhook_url",
    ],
)
def test_secret_field_names_are_detected(name: str) -> None:
    """Field names containing a secret word, in any case, are secret."""
    assert is_secret_key(name) is True


@pytest.mark.parametrize(
    "name", ["name", "url", "directory_url", "email", "username", "ca_bundle", "timeout", ""]
)
def test_ordinary_field_names_are_not_secret(name: str) -> None:
    """Field names without a secret word are not secret."""
    assert is_secret_key(name) is False


def test_secret_mask_is_eight_stars() -> None:
    """The mask shown instead of a secret is eight asterisks."""
    assert SECRET_MASK == "********"


@pytest.mark.parametrize(
    "value",
    [
        "alice@example.com",
        "a.b+tag@sub.example.co.uk",
        "x@y.z",
        "a" * (254 - len("@example.com")) + "@example.com",
    ],
)
def test_check_email_accepts_plain_address(value: str) -> None:
    """A plain address up to 254 characters is returned unchanged."""
    assert check_email(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "alice",
        "alice@localhost",
        "@example.com",
        "alice@",
        "Alice <alice@example.com>",
        "alice@example.com\n",
        "alice@example.com\r\nBcc: eve@example.com",
        "al ice@example.com",
        "a@b@example.com",
        "alice@example.com,bob@example.com",
        "alice@example.com;bob@example.com",
        '"alice"@example.com',
        "a" * (255 - len("@example.com")) + "@example.com",
    ],
)
def test_check_email_refuses_non_plain_address_naming_field(value: str) -> None:
    """A malformed, header-breaking or over-long address is refused on the `email` field."""
    with pytest.raises(InvalidRequest) as caught:
        check_email(value)
    assert caught.value.errors == (FieldError("email", f"{value!r} is not a valid email address"),)


def test_check_email_names_the_given_field() -> None:
    """The caller chooses the field path the error names."""
    with pytest.raises(InvalidRequest) as caught:
        check_email("nope", field="recipients[2]")
    assert caught.value.field == "recipients[2]"


@pytest.mark.parametrize("cidr", [None, "", "10.0.0.0/8", "10.1.2.3/8", "2001:db8::/32", "::1"])
def test_agent_group_with_parsable_or_no_cidr_passes(cidr: str | None) -> None:
    """A group without a CIDR, or with one that parses (host bits allowed), is accepted."""
    assert check_agent_group(_group(cidr)) is None


@pytest.mark.parametrize(
    ("cidr", "reason"),
    [
        ("10.0.0.0/33", "'10.0.0.0/33' does not appear to be an IPv4 or IPv6 network"),
        ("not-a-network", "'not-a-network' does not appear to be an IPv4 or IPv6 network"),
        ("2001:db8::/129", "'2001:db8::/129' does not appear to be an IPv4 or IPv6 network"),
    ],
)
def test_agent_group_with_bad_cidr_names_match_ip_cidr(cidr: str, reason: str) -> None:
    """A CIDR that does not parse is refused on `match_ip_cidr` with the parser's reason."""
    with pytest.raises(InvalidRequest) as caught:
        check_agent_group(_group(cidr))
    assert caught.value.errors == (FieldError("match_ip_cidr", f"invalid CIDR: {reason}"),)


def test_issuer_type_values() -> None:
    """Issuer kinds use the reference spellings."""
    assert [t.value for t in IssuerType] == ["GenericCA", "ACME", "VaultPKI", "StepCA", "OpenSSL"]


def test_target_type_values() -> None:
    """Deployment target kinds use the reference spellings."""
    assert [t.value for t in TargetType] == [
        "NGINX",
        "Apache",
        "HAProxy",
        "Traefik",
        "Caddy",
        "Envoy",
        "Postfix",
        "Dovecot",
        "File",
    ]


def test_agent_status_values() -> None:
    """Agent liveness is Online, Offline or Degraded."""
    assert [s.value for s in AgentStatus] == ["Online", "Offline", "Degraded"]
