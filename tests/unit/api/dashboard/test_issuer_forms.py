"""Issuer config forms: fields per type, masked secrets, config rebuilt from a form."""

from __future__ import annotations

import pytest
from starlette.datastructures import FormData

from certctl.api.dashboard.issuer_forms import config_from_form, fields_for, shown
from certctl.domain.inventory import IssuerType
from certctl.errors import InvalidRequest


def test_fields_are_the_types_then_the_stored_extras() -> None:
    """A type's own fields come first, then stored strings and whole numbers it does not know."""
    config = {"email": "pki@example.com", "zone": "eu", "retries": 3, "flags": {"a": 1}, "on": True}
    names = [(f.name, f.kind) for f in fields_for(IssuerType.ACME, config)]
    assert names == [
        ("directory_url", "url"),
        ("email", "email"),
        ("terms_agreed", "select"),
        ("eab_kid", "text"),
        ("eab_hmac_key", "text"),
        ("challenge_type", "select"),
        ("dns_resolver", "text"),
        ("ca_bundle_pem", "textarea"),
        ("profile", "text"),
        ("order_timeout_seconds", "number"),
        ("retries", "number"),
        ("zone", "text"),
    ]


def test_secret_fields_show_the_mask() -> None:
    """A stored secret shows ********, an unset one nothing, a plain value itself."""
    fields = {f.name: f for f in fields_for(IssuerType.VAULT_PKI, {})}
    config = {"token": "********", "address": "https://vault.example"}
    assert fields["token"].secret
    assert shown(fields["token"], config) == "********"
    assert shown(fields["address"], config) == "https://vault.example"
    assert shown(fields["role"], config) == ""


def test_config_from_form_keeps_what_the_form_cannot_show() -> None:
    """Empty fields are unset, numbers parsed, and stored objects or booleans carried over."""
    form = FormData(
        [
            ("config.common_name", "Edge CA"),
            ("config.validity_days", "365"),
            ("config.ca_private_key_pem", "********"),
            ("config.key_spec", ""),
        ]
    )
    stored = {"ca_private_key_pem": "********", "labels": {"x": "y"}, "strict": False}
    assert config_from_form(IssuerType.GENERIC_CA, form, stored) == {
        "common_name": "Edge CA",
        "validity_days": 365,
        "ca_private_key_pem": "********",
        "labels": {"x": "y"},
        "strict": False,
    }


def test_a_number_field_must_hold_a_number() -> None:
    """A number field with text is refused naming config.<field>."""
    form = FormData([("config.timeout_seconds", "soon")])
    with pytest.raises(InvalidRequest) as caught:
        config_from_form(IssuerType.OPENSSL, form, {})
    assert caught.value.field == "config.timeout_seconds"
