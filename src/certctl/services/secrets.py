"""Connector configs with secrets: secret fields sealed at rest and masked in every answer.

Secret fields are found by name at any depth, inside objects and lists (`auth.password`,
`headers.0.token`, `token`); a secret-named field holding an object is sealed whole. A URL
with a user part (`https://user:password@host/`) is a secret wherever it is: it is sealed
whole and answered with the user part masked (`https://********@host/`). The
stored config keeps the mask in their place; the sealed blob maps each secret's path to its
value. Path segments are joined by `.`, with `.` and `\\` inside a key escaped by `\\`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from certctl.domain.inventory import SECRET_MASK, is_secret_key
from certctl.domain.redaction import has_url_credentials, mask_url_credentials
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
    secrets: dict[str, Any] = {}
    public = _mask(config, "", previous, secrets, field)
    return public, _seal(secrets, sealer, field)


def _mask(
    config: Mapping[str, Any],
    prefix: str,
    previous: Mapping[str, Any],
    secrets: dict[str, Any],
    field: str,
) -> dict[str, Any]:
    public: dict[str, Any] = {}
    for key, value in config.items():
        path = prefix + _escape(str(key))
        if is_secret_key(key) and value is not None:
            secrets[path] = _secret_value(value, path, previous, field)
            public[key] = SECRET_MASK
        else:
            public[key] = _mask_value(value, path, previous, secrets, field)
    return public


def _mask_value(
    value: Any, path: str, previous: Mapping[str, Any], secrets: dict[str, Any], field: str
) -> Any:
    if isinstance(value, Mapping):
        return _mask(value, f"{path}.", previous, secrets, field)
    if isinstance(value, list):
        return [
            _mask_value(item, f"{path}.{index}", previous, secrets, field)
            for index, item in enumerate(value)
        ]
    if isinstance(value, str) and has_url_credentials(value):
        secrets[path] = _url_value(value, path, previous, field)
        return mask_url_credentials(value, SECRET_MASK)
    return value


def _url_value(value: str, path: str, previous: Mapping[str, Any], field: str) -> str:
    """A URL sent back as answered (user part masked) keeps the stored one."""
    stored = previous.get(path)
    if isinstance(stored, str) and value == mask_url_credentials(stored, SECRET_MASK):
        return stored
    if f"://{SECRET_MASK}@" in value:
        raise InvalidRequest(
            f"{path} holds the mask {SECRET_MASK!r} but no value is stored yet",
            field=f"{field}.{path}",
        )
    return value


def _escape(key: str) -> str:
    return key.replace("\\", "\\\\").replace(".", "\\.")


def _split_path(path: str) -> list[str]:
    parts, current, escaped = [], [], False
    for char in path:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _secret_value(value: Any, path: str, previous: Mapping[str, Any], field: str) -> Any:
    if value != SECRET_MASK:
        return value
    if path not in previous:
        raise InvalidRequest(
            f"{path} is the mask {SECRET_MASK!r} but no value is stored yet",
            field=f"{field}.{path}",
        )
    return previous[path]


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
    """Decrypt stored secrets, keyed by dotted path (for connectors; never for the API)."""
    if not sealed or sealer is None:
        return {}
    loaded = json.loads(sealer.open(sealed))
    return dict(loaded) if isinstance(loaded, dict) else {}


def reveal_config(
    config: Mapping[str, Any], sealed: str | None, sealer: Sealer | None
) -> dict[str, Any]:
    """The full config a connector runs with: every mask replaced by its sealed value."""
    revealed: dict[str, Any] = json.loads(json.dumps(dict(config)))
    for path, value in open_secrets(sealed, sealer).items():
        *parents, leaf = _split_path(path)
        node: Any = revealed
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if isinstance(node, list):
            node[int(leaf)] = value
        else:
            node[leaf] = value
    return revealed
