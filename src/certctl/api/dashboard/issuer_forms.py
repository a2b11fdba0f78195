"""Issuer config forms: the fields of each issuer type, and the config built from a form.

Secret fields (named as `domain.inventory.is_secret_key` recognises) are shown as
`********` and sent back as such when left alone, which the issuer service reads as "keep
the stored value". Fields the form does not know — set through the API — are kept: plain
strings and numbers appear as extra fields, other values are carried over untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData

from certctl.domain.inventory import SECRET_MASK, IssuerType, is_secret_key
from certctl.errors import FieldError, InvalidRequest

KEY_SPECS = ("ECDSA-P256", "ECDSA-P384", "RSA-2048", "RSA-3072", "RSA-4096", "Ed25519")
PREFIX = "config."


@dataclass(frozen=True)
class ConfigField:
    """One config field of an issuer type and how the form asks for it."""

    name: str
    label: str
    kind: str = "text"  # text | url | email | number | textarea | select
    help: str = ""
    choices: tuple[str, ...] = ()

    @property
    def secret(self) -> bool:
        """Whether the value is sealed at rest and masked on screen."""
        return is_secret_key(self.name)

    @property
    def input_name(self) -> str:
        """The form field's name."""
        return PREFIX + self.name


F = ConfigField
ISSUER_FIELDS: Mapping[IssuerType, tuple[ConfigField, ...]] = {
    IssuerType.GENERIC_CA: (
        F("common_name", "CA common name", help="Subject CN of a new root; the name if empty."),
        F("key_spec", "CA key", "select", choices=KEY_SPECS),
        F("validity_days", "CA validity (days)", "number"),
        F("default_ttl_days", "Default certificate lifetime (days)", "number"),
        F("ca_certificate_pem", "Sub-CA certificate (PEM)", "textarea"),
        F("ca_private_key_pem", "Sub-CA private key (PEM)", "textarea"),
        F("ca_private_key_password", "Sub-CA key password"),
    ),
    IssuerType.ACME: (
        F("directory_url", "Directory URL", "url"),
        F("email", "Account e-mail", "email"),
        F(
            "terms_agreed",
            "I agree to the CA's terms of service",
            "select",
            help="Required: read the terms the directory links to first.",
            choices=("true", "false"),
        ),
        F("eab_kid", "External account binding key id"),
        F("eab_hmac_key", "External account binding HMAC key"),
        F(
            "challenge_type",
            "Challenge",
            "select",
            help="dns-01 also needs dns_present_command (an argv list), set through the API.",
            choices=("http-01", "dns-01"),
        ),
        F("dns_resolver", "DNS-01 propagation resolver", help="IP or IP:port, e.g. 192.0.2.53"),
        F("ca_bundle_pem", "CA bundle of a private ACME server (PEM)", "textarea"),
        F("profile", "ACME profile"),
        F("order_timeout_seconds", "Order timeout (seconds)", "number"),
    ),
    IssuerType.VAULT_PKI: (
        F("address", "Vault address", "url"),
        F("mount", "PKI mount path", help="For example pki_int."),
        F("role", "Role"),
        F("namespace", "Namespace"),
        F("token", "Token", help="Token auth; or give the AppRole ids below."),
        F("approle_role_id", "AppRole role_id"),
        F("approle_secret_id", "AppRole secret_id"),
        F("ca_bundle_pem", "CA bundle for Vault's TLS (PEM)", "textarea"),
    ),
    IssuerType.STEP_CA: (
        F("url", "CA URL", "url"),
        F("root_fingerprint", "Root fingerprint (SHA-256)"),
        F("provisioner", "JWK provisioner name"),
        F("provisioner_private_key", "Provisioner private JWK (JSON)", "textarea"),
        F("ca_bundle_pem", "CA bundle for the CA's TLS (PEM)", "textarea"),
    ),
    IssuerType.OPENSSL: (
        F(
            "script_path",
            "Signing script path",
            help="Runs without a shell, the CSR on standard input; prints the PEM chain.",
        ),
        F("timeout_seconds", "Timeout (seconds)", "number"),
        F("revoke_script_path", "Revocation script path", help="Gets the serial and reason."),
        F("ca_chain_pem", "CA chain (PEM)", "textarea"),
    ),
}


def fields_for(kind: IssuerType, config: Mapping[str, Any]) -> tuple[ConfigField, ...]:
    """The type's fields, then one text field per other plain value stored in `config`."""
    known = ISSUER_FIELDS.get(kind, ())
    names = {f.name for f in known}
    extra = tuple(
        ConfigField(name, name, "number" if type(value) is int else "text")
        for name, value in sorted(config.items())
        if name not in names and _editable(value)
    )
    return known + extra


def _editable(value: Any) -> bool:
    """Strings and whole numbers fit a text field; objects, lists and booleans are kept."""
    return isinstance(value, str) or type(value) is int


def shown(field: ConfigField, config: Mapping[str, Any]) -> str:
    """The value a field displays: the mask for a stored secret, else the stored value."""
    value = config.get(field.name)
    if value is None:
        return ""
    if field.secret:
        return SECRET_MASK
    return str(value)


def config_from_form(kind: IssuerType, form: FormData, stored: Mapping[str, Any]) -> dict[str, Any]:
    """The config to save: the form's fields (empty = unset) over the nested stored values."""
    config = {k: v for k, v in stored.items() if v is not None and not _editable(v)}
    errors: list[FieldError] = []
    for field in fields_for(kind, stored):
        raw = form.get(field.input_name)
        value = raw.strip() if isinstance(raw, str) else ""
        if not value:
            continue
        if field.kind == "number":
            try:
                config[field.name] = int(value)
            except ValueError:
                errors.append(FieldError(f"config.{field.name}", "must be a whole number"))
            continue
        config[field.name] = value
    if errors:
        raise InvalidRequest.many(tuple(errors))
    return config
