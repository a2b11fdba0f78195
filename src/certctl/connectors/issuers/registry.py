"""Which issuer types have a connector, and how each validates its configuration (C5)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ValidationError

from certctl.connectors.issuers.acme import AcmeConfig
from certctl.connectors.issuers.script import ScriptConfig
from certctl.connectors.issuers.stepca import StepCAConfig
from certctl.connectors.issuers.vault import VaultConfig
from certctl.domain.inventory import IssuerType
from certctl.errors import FieldError, InvalidRequest

CONFIG_MODELS: Mapping[IssuerType, type[BaseModel] | None] = MappingProxyType(
    {
        # The local CA's settings are checked when its CA is made (services.pki).
        IssuerType.GENERIC_CA: None,
        IssuerType.ACME: AcmeConfig,
        IssuerType.OPENSSL: ScriptConfig,
        IssuerType.VAULT_PKI: VaultConfig,
        IssuerType.STEP_CA: StepCAConfig,
    }
)
"""Issuer types that can be created: each has a connector in this version."""


def check_issuer_type(issuer_type: IssuerType | str) -> IssuerType:
    """The type, if it has a connector; otherwise InvalidRequest naming `type`."""
    try:
        kind = IssuerType(issuer_type)
    except ValueError:
        kind = None
    if kind is None or kind not in CONFIG_MODELS:
        supported = ", ".join(t.value for t in CONFIG_MODELS)
        raise InvalidRequest(
            f"issuer type {str(issuer_type)!r} has no connector in this version; "
            f"supported: {supported}",
            field="type",
        )
    return kind


def validate_issuer_config(issuer_type: IssuerType, config: Mapping[str, Any]) -> BaseModel | None:
    """The type's validated config model, or InvalidRequest naming each bad `config.<field>`."""
    model = CONFIG_MODELS[check_issuer_type(issuer_type)]
    if model is None:
        return None
    try:
        return model.model_validate(dict(config))
    except ValidationError as exc:
        raise InvalidRequest.many(
            tuple(
                FieldError(
                    ".".join(["config", *(str(part) for part in error["loc"])]),
                    str(error["msg"]).removeprefix("Value error, "),
                )
                for error in exc.errors()
            )
        ) from exc


def config_schema(issuer_type: IssuerType) -> dict[str, Any] | None:
    """JSON schema of a type's config, for forms (None: the type has its own form)."""
    model = CONFIG_MODELS[check_issuer_type(issuer_type)]
    return None if model is None else model.model_json_schema()
