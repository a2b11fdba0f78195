"""Connector configs with secrets: sealing on write, masking in answers, revealing to connectors."""

from __future__ import annotations

import json

import pytest

from certctl.errors import ConfigurationError, FieldError, InvalidRequest
from certctl.pki.sealing import Sealer
from certctl.services.secrets import open_secrets, reveal_config, split_config

MASK = "********"


@pytest.fixture(scope="module")
def sealer() -> Sealer:
    """One sealer per module, so the key derivation runs once."""
    return Sealer("unit-test-passphrase")


def _sealed(sealer: Sealer, secrets: dict[str, object]) -> str:
    return sealer.seal(json.dumps(secrets).encode())


def test_config_without_secrets_is_kept_and_nothing_sealed(sealer: Sealer) -> None:
    """A config with no secret fields comes back unchanged with no sealed blob."""
    config = {"directory_url": "https://acme.example/directory", "email": "pki@example.com"}
    assert split_config(config, previous_sealed=None, sealer=sealer) == (config, None)


def test_secret_is_masked_in_public_config(sealer: Sealer) -> None:
    """Secret fields are replaced by the mask in the public config, others kept."""
    public, _ = split_config(
        {"url": "https://vault.example", "token": "hvs.s3cret"}, previous_sealed=None, sealer=sealer
    )
    assert public == {"url": "https://vault.example", "token": MASK}


def test_secret_is_sealed(sealer: Sealer) -> None:
    """Secret values are sealed together as sorted JSON that only the sealer can open."""
    _, sealed = split_config(
        {"url": "u", "token": "t-1", "api_key": "k-2"}, previous_sealed=None, sealer=sealer
    )
    assert sealed is not None
    assert sealer.open(sealed) == b'{"api_key": "k-2", "token": "t-1"}'


def test_null_secret_is_public_and_not_sealed(sealer: Sealer) -> None:
    """A secret field set to null stays null in the public config and is not sealed."""
    assert split_config({"password": None}, previous_sealed=None, sealer=sealer) == (
        {"password": None},
        None,
    )


def test_mask_keeps_the_stored_secret(sealer: Sealer) -> None:
    """Sending the mask for a stored secret keeps the stored value."""
    previous = _sealed(sealer, {"token": "old-token"})
    public, sealed = split_config({"token": MASK}, previous_sealed=previous, sealer=sealer)
    assert (public, open_secrets(sealed, sealer)) == ({"token": MASK}, {"token": "old-token"})


def test_new_value_replaces_the_stored_secret(sealer: Sealer) -> None:
    """Sending a new value for a stored secret replaces it."""
    previous = _sealed(sealer, {"token": "old-token"})
    _, sealed = split_config({"token": "new-token"}, previous_sealed=previous, sealer=sealer)
    assert open_secrets(sealed, sealer) == {"token": "new-token"}


def test_secret_left_out_of_the_update_is_dropped(sealer: Sealer) -> None:
    """The new config replaces the old: a stored secret not sent again is not carried over."""
    previous = _sealed(sealer, {"token": "old-token", "password": "old-pass"})
    _, sealed = split_config({"token": MASK}, previous_sealed=previous, sealer=sealer)
    assert open_secrets(sealed, sealer) == {"token": "old-token"}


def test_nested_secret_is_masked_in_place(sealer: Sealer) -> None:
    """A secret inside a nested mapping is masked where it sits; its siblings are kept."""
    public, _ = split_config(
        {"auth": {"user": "svc", "password": "pw"}, "url": "u"}, previous_sealed=None, sealer=sealer
    )
    assert public == {"auth": {"user": "svc", "password": MASK}, "url": "u"}


def test_nested_secret_is_sealed_under_its_dotted_path(sealer: Sealer) -> None:
    """Sealed secrets are keyed by dotted path at any depth."""
    _, sealed = split_config(
        {"eab": {"kid": "k1", "hmac_key": "h"}, "acme": {"account": {"token": "t"}}},
        previous_sealed=None,
        sealer=sealer,
    )
    assert open_secrets(sealed, sealer) == {"eab.hmac_key": "h", "acme.account.token": "t"}


def test_nested_mask_keeps_the_stored_secret(sealer: Sealer) -> None:
    """Sending the mask for a stored nested secret keeps the stored value."""
    previous = _sealed(sealer, {"auth.password": "old-pw"})
    _, sealed = split_config({"auth": {"password": MASK}}, previous_sealed=previous, sealer=sealer)
    assert open_secrets(sealed, sealer) == {"auth.password": "old-pw"}


def test_nested_mask_without_stored_value_names_the_path(sealer: Sealer) -> None:
    """The mask for a nested secret never stored is refused on `config.<dotted path>`."""
    with pytest.raises(InvalidRequest) as caught:
        split_config({"auth": {"password": MASK}}, previous_sealed=None, sealer=sealer)
    assert caught.value.errors == (
        FieldError(
            "config.auth.password",
            "auth.password is the mask '********' but no value is stored yet",
        ),
    )


def test_stored_top_level_secret_does_not_satisfy_a_nested_mask(sealer: Sealer) -> None:
    """A stored `password` does not stand in for a masked `auth.password`."""
    previous = _sealed(sealer, {"password": "pw"})
    with pytest.raises(InvalidRequest) as caught:
        split_config({"auth": {"password": MASK}}, previous_sealed=previous, sealer=sealer)
    assert caught.value.field == "config.auth.password"


def test_mapping_under_secret_key_is_not_stored_in_plain(sealer: Sealer) -> None:
    """Values under a secret-named key (`credentials`) never reach the public config."""
    public, _ = split_config(
        {"credentials": {"username": "svc", "pass": "hunter2-value"}},
        previous_sealed=None,
        sealer=sealer,
    )
    assert "hunter2-value" not in json.dumps(public)


def test_mask_without_stored_value_is_refused_naming_field(sealer: Sealer) -> None:
    """The mask for a secret that was never stored is an InvalidRequest on `config.<key>`."""
    with pytest.raises(InvalidRequest) as caught:
        split_config({"api_key": MASK}, previous_sealed=None, sealer=sealer)
    assert caught.value.errors == (
        FieldError("config.api_key", "api_key is the mask '********' but no value is stored yet"),
    )


def test_mask_error_uses_the_given_field_prefix(sealer: Sealer) -> None:
    """The field path in a mask error starts with the caller's field name."""
    with pytest.raises(InvalidRequest) as caught:
        split_config({"password": MASK}, previous_sealed=None, sealer=sealer, field="settings")
    assert caught.value.field == "settings.password"


def test_secrets_without_sealer_are_refused_naming_them() -> None:
    """Without an encryption key, secret fields are refused on `config`, listed by name."""
    with pytest.raises(InvalidRequest) as caught:
        split_config({"token": "t", "password": "p", "url": "u"}, previous_sealed=None, sealer=None)
    assert caught.value.errors == (
        FieldError(
            "config",
            "secret fields (password, token) cannot be stored: "
            "CERTCTL_CONFIG_ENCRYPTION_KEY is not set",
        ),
    )


def test_config_without_secrets_needs_no_sealer() -> None:
    """A config with no secret fields is accepted without an encryption key."""
    assert split_config({"url": "u"}, previous_sealed=None, sealer=None) == ({"url": "u"}, None)


def test_stored_secrets_under_another_key_fail_loudly(sealer: Sealer) -> None:
    """Stored secrets sealed under a different key make the update a ConfigurationError."""
    previous = _sealed(Sealer("another-passphrase"), {"token": "t"})
    with pytest.raises(ConfigurationError):
        split_config({"token": MASK}, previous_sealed=previous, sealer=sealer)


@pytest.mark.parametrize("sealed", [None, ""])
def test_open_secrets_of_nothing_is_empty(sealer: Sealer, sealed: str | None) -> None:
    """With nothing stored there are no secrets."""
    assert open_secrets(sealed, sealer) == {}


def test_open_secrets_without_sealer_is_empty(sealer: Sealer) -> None:
    """Without a sealer stored secrets cannot be read and none are returned."""
    assert open_secrets(_sealed(sealer, {"token": "t"}), None) == {}


def test_open_secrets_returns_the_sealed_mapping(sealer: Sealer) -> None:
    """Stored secrets are decrypted into a dict."""
    assert open_secrets(_sealed(sealer, {"token": "t", "port": 8200}), sealer) == {
        "token": "t",
        "port": 8200,
    }


@pytest.mark.parametrize("payload", [[1, 2], "text", 42, None])
def test_open_secrets_ignores_non_mapping_payload(sealer: Sealer, payload: object) -> None:
    """A sealed payload that is not a JSON object yields no secrets."""
    assert open_secrets(sealer.seal(json.dumps(payload).encode()), sealer) == {}


def test_reveal_config_replaces_masks_with_secrets(sealer: Sealer) -> None:
    """The connector's config has the stored secret values in place of the masks."""
    public, sealed = split_config(
        {"url": "https://vault.example", "token": "hvs.s3cret"}, previous_sealed=None, sealer=sealer
    )
    assert reveal_config(public, sealed, sealer) == {
        "url": "https://vault.example",
        "token": "hvs.s3cret",
    }


def test_reveal_config_restores_nested_secrets(sealer: Sealer) -> None:
    """Nested masks are replaced by their sealed values at the same place."""
    config = {"auth": {"user": "svc", "password": "pw"}, "eab": {"hmac_key": "h"}, "url": "u"}
    public, sealed = split_config(config, previous_sealed=None, sealer=sealer)
    assert reveal_config(public, sealed, sealer) == config


def test_reveal_config_does_not_touch_the_stored_config(sealer: Sealer) -> None:
    """Revealing works on a copy: the masked config passed in keeps its masks."""
    public, sealed = split_config({"auth": {"password": "pw"}}, previous_sealed=None, sealer=sealer)
    reveal_config(public, sealed, sealer)
    assert public == {"auth": {"password": MASK}}


def test_reveal_config_restores_secret_whose_key_has_a_dot(sealer: Sealer) -> None:
    """A secret field whose own name contains a dot is revealed under that name."""
    config = {"x.token": "s3cret"}
    public, sealed = split_config(config, previous_sealed=None, sealer=sealer)
    assert reveal_config(public, sealed, sealer) == config


def test_reveal_config_without_secrets_is_a_copy(sealer: Sealer) -> None:
    """With nothing sealed, the revealed config equals the public one but is a new dict."""
    public = {"url": "u"}
    revealed = reveal_config(public, None, sealer)
    assert (revealed, revealed is public) == ({"url": "u"}, False)


def test_secret_inside_a_list_is_sealed_and_revealed(sealer: Sealer) -> None:
    """A token inside a list of objects is masked in place and restored by index."""
    config = {"headers": [{"name": "x"}, {"token": "t0k"}]}
    public, sealed = split_config(config, previous_sealed=None, sealer=sealer)
    assert public == {"headers": [{"name": "x"}, {"token": MASK}]}
    assert open_secrets(sealed, sealer) == {"headers.1.token": "t0k"}
    assert reveal_config(public, sealed, sealer) == config


URL_WITH_PASSWORD = "https://bob:pw-1@hooks.example.com/in"
MASKED_URL = f"https://{MASK}@hooks.example.com/in"


def test_url_credentials_are_masked_sealed_and_revealed(sealer: Sealer) -> None:
    """A URL's user part is a secret: masked in the answer, sealed, revealed to the connector."""
    config = {"url": URL_WITH_PASSWORD, "mirrors": ["https://t0ken@m.example.com/"]}
    public, sealed = split_config(config, previous_sealed=None, sealer=sealer)
    assert public == {"url": MASKED_URL, "mirrors": [f"https://{MASK}@m.example.com/"]}
    assert open_secrets(sealed, sealer) == {
        "url": URL_WITH_PASSWORD,
        "mirrors.0": "https://t0ken@m.example.com/",
    }
    assert reveal_config(public, sealed, sealer) == config


def test_masked_url_sent_back_keeps_the_stored_credentials(sealer: Sealer) -> None:
    """Sending the masked URL back unchanged keeps the stored one; a new URL replaces it."""
    _, first = split_config({"url": URL_WITH_PASSWORD}, previous_sealed=None, sealer=sealer)
    _, kept = split_config({"url": MASKED_URL}, previous_sealed=first, sealer=sealer)
    assert open_secrets(kept, sealer) == {"url": URL_WITH_PASSWORD}
    new = "https://bob:pw-2@hooks.example.com/in"
    _, replaced = split_config({"url": new}, previous_sealed=first, sealer=sealer)
    assert open_secrets(replaced, sealer) == {"url": new}


def test_masked_url_without_a_stored_value_is_refused(sealer: Sealer) -> None:
    """A masked URL that matches nothing stored is a 400 naming the field, not a stored mask."""
    with pytest.raises(InvalidRequest) as caught:
        split_config({"url": MASKED_URL}, previous_sealed=None, sealer=sealer)
    assert caught.value.errors == (
        FieldError("config.url", f"url holds the mask {MASK!r} but no value is stored yet"),
    )
