"""Connector configs with secrets: secret fields sealed at rest and masked in every answer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from certctl.domain.inventory import SECRET_MASK, is_secret_key
from certctl.errors import InvalidRequest
from certctl.pki.sealing import Sealer


def split_config(
    config: Mapping[str, Any],
    *,
    previous_sealed: str | None,
    sealer: Sealer | None,
    field: str = "config",
) -> tuple[dict[str, Any], str | None]:
    """Return (config with secrets masked, sealed secrets); a mask keeps the stored value."""
    previous = open_secrets(previous_sealed, sealer)
    public: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    for key, value in config.items():
        if not is_secret_key(key) or value is None:
            public[key] = value
            continue
        if value == SECRET_MASK and key not in previous:
            raise InvalidRequest(
                f"{key} is the mask {SECRET_MASK!r} but no value is stored yet",
                field=f"{field}.{key}",
            )
        secrets[key] = previous[key] if value == SECRET_MASK else value
        public[key] = SECRET_MASK
    return public, _seal(secrets, sealer, field)


def _seal(secrets: Mapping[str, Any], sealer: Sealer | None, field: str) -> str | None:
    if not secrets:
        return None
    if sealer is None:
        names = ", ".join(sorted(secrets))
        raise InvalidRequest(
            f"secret fields ({names}) cannot be stored: CERTCTL_CONFIG_ENCRYPTION_KEY is not set",
            field=field,
        )
    return sealer.seal(json.dumps(dict(secrets), sort_keys=True).encode())


def open_secrets(sealed: str | None, sealer: Sealer | None) -> dict[str, Any]:
    """Decrypt stored secrets (for connectors only; never returned by the API)."""
    if not sealed or sealer is None:
        return {}
    loaded = json.loads(sealer.open(sealed))
    return dict(loaded) if isinstance(loaded, dict) else {}


def reveal_config(
    config: Mapping[str, Any], sealed: str | None, sealer: Sealer | None
) -> dict[str, Any]:
    """The full config a connector runs with: masks replaced by the sealed values."""
    return {**config, **open_secrets(sealed, sealer)}
