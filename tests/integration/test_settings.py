"""Settings are validated once, at start-up, with messages naming the variable."""

from __future__ import annotations

import pytest

from certctl.errors import ConfigurationError
from certctl.settings import load_settings


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"api_keys_named": "ops:short:admin"},
            "CERTCTL_API_KEYS_NAMED entry 1 (ops): keys need 16+ characters",
        ),
        (
            {"api_keys_named": "ops"},
            "CERTCTL_API_KEYS_NAMED entry 1 must be name:key or name:key:role",
        ),
        ({"api_keys_named": "ops:0123456789abcdef:root"}, "unknown role 'root'"),
        ({"api_keys_named": "a:0123456789abcdef,a:0123456789abcdeg"}, "names 'a' twice"),
        ({"server_workers": 2}, "CERTCTL_SERVER_WORKERS above 1 needs PostgreSQL"),
        ({"config_encryption_key": "short"}, "CERTCTL_CONFIG_ENCRYPTION_KEY must be a real secret"),
        ({"server_port": 70000}, "CERTCTL_SERVER_PORT"),
        ({"smtp_extra_recipients": "ok@example.com, bad"}, "CERTCTL_SMTP_EXTRA_RECIPIENTS: 'bad'"),
    ],
)
def test_bad_settings_raise_configuration_error(overrides: dict[str, object], message: str) -> None:
    """Each misconfiguration is one ConfigurationError whose text says what to fix."""
    with pytest.raises(ConfigurationError) as caught:
        load_settings(**overrides)
    assert message in caught.value.detail


def test_short_keys_are_allowed_in_demo_mode() -> None:
    """Demo mode accepts any key length; it never guards production data."""
    settings = load_settings(api_keys_named="demo:k:admin", demo_mode_ack=True)
    assert [p.name for p in settings.named_keys().values()] == ["demo"]


def test_default_role_of_a_named_key_is_operator() -> None:
    """`name:key` without a role gets the operator role."""
    settings = load_settings(api_keys_named="ci:0123456789abcdef")
    assert [p.role.value for p in settings.named_keys().values()] == ["operator"]


def test_server_keygen_requires_the_demo_acknowledgement() -> None:
    """CERTCTL_KEYGEN_MODE=server without the demo acknowledgement refuses to load."""
    with pytest.raises(ConfigurationError) as caught:
        load_settings(keygen_mode="server")
    assert "CERTCTL_KEYGEN_MODE=server" in caught.value.detail
    assert load_settings(keygen_mode="server", demo_mode_ack=True).keygen_mode == "server"
