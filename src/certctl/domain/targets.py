"""Typed configuration of a deployment target: file layout, commands and checks per type (C7).

A target's `config` is stored as JSON and read twice: by the server when the target is saved
(so a bad config is refused with the field named) and by the agent before it deploys (so a
config that reached it some other way is refused again before anything runs).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from certctl.domain.inventory import TargetType
from certctl.errors import InvalidRequest

# Commands run as argv lists, never through a shell, so these characters have no legitimate
# use in them. Their presence means either a command written for a shell (`nginx -t && …`
# passed as one element would silently do something else) or an attempt at injection through
# a wrapper that does hand its arguments to a shell. Refusing them keeps both visible.
#   ; | &        command separators and pipes
#   $ `          parameter expansion and command substitution (`$(`, backquotes)
#   < >          redirections
#   ( ) { }      subshells, grouping and brace expansion
#   * ? [ ]      pathname expansion
#   ~            tilde expansion
#   !            history expansion;  #  comments
#   ' " \        quoting and escaping
#   control characters (newline, carriage return, tab, NUL, DEL …): line breaks end commands
SHELL_METACHARACTERS = frozenset(";|&$`<>(){}*?[]~!#'\"\\")
_MAX_ARGS = 64
_MAX_ARG_LENGTH = 1024
_ACCOUNT = re.compile(r"^(?:[a-z_][a-z0-9_.-]{0,31}|[0-9]{1,10})$")
_MODE = re.compile(r"^0?[0-7]{3}$")
_SERVER_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?$")

PATH_KEYS = ("cert_path", "key_path", "chain_path", "pem_path")
_HAPROXY_CFG = "/etc/haproxy/haproxy.cfg"
_CADDYFILE = "/etc/caddy/Caddyfile"

# Debian's commands: (validate, reload). Traefik and Envoy watch their certificate files and
# need neither; a File target is plain files.
DEFAULT_COMMANDS: Mapping[TargetType, tuple[tuple[str, ...], tuple[str, ...]]] = {
    TargetType.NGINX: (("nginx", "-t"), ("nginx", "-s", "reload")),
    TargetType.APACHE: (("apache2ctl", "configtest"), ("apache2ctl", "graceful")),
    TargetType.HAPROXY: (
        ("haproxy", "-c", "-f", _HAPROXY_CFG),
        ("systemctl", "reload", "haproxy"),
    ),
    TargetType.TRAEFIK: ((), ()),
    TargetType.CADDY: (
        ("caddy", "validate", "--config", _CADDYFILE),
        ("caddy", "reload", "--config", _CADDYFILE),
    ),
    TargetType.ENVOY: ((), ()),
    TargetType.POSTFIX: (("postfix", "check"), ("postfix", "reload")),
    TargetType.DOVECOT: (("doveconf", "-n"), ("doveadm", "reload")),
    TargetType.FILE: ((), ()),
}


def refuse_shell_metacharacters(argv: Sequence[str], *, field: str = "command") -> None:
    """Raise InvalidRequest naming `field` when an argument holds a shell metacharacter."""
    for index, arg in enumerate(argv):
        bad = sorted({c for c in arg if c in SHELL_METACHARACTERS or _is_control(c)})
        if bad:
            shown = " ".join(repr(c) for c in bad)
            raise InvalidRequest(
                f"argument {index} holds shell metacharacters ({shown}); commands run "
                "without a shell, so give each argument as its own list element",
                field=field,
            )


def _is_control(char: str) -> bool:
    return ord(char) < 0x20 or ord(char) == 0x7F


@dataclass(frozen=True)
class TargetConfig:
    """A validated target config: where the files go, how to check and reload, what to probe."""

    target_type: TargetType
    cert_path: str | None = None
    key_path: str | None = None
    chain_path: str | None = None
    pem_path: str | None = None
    validate_command: tuple[str, ...] = ()
    reload_command: tuple[str, ...] = ()
    command_timeout_seconds: float = 30.0
    verify_endpoint: str | None = None
    verify_server_name: str | None = None
    rollback_on_verify_failure: bool = True
    backups: int = 3
    owner: str | None = None
    group: str | None = None
    mode: int | None = None

    def __post_init__(self) -> None:
        _check_layout(self)
        refuse_shell_metacharacters(self.validate_command, field="config.validate_command")
        refuse_shell_metacharacters(self.reload_command, field="config.reload_command")

    @property
    def paths(self) -> dict[str, str]:
        """The configured files by key (cert_path, key_path, chain_path, pem_path)."""
        return {k: v for k in PATH_KEYS if (v := getattr(self, k)) is not None}

    @property
    def verify_address(self) -> tuple[str, int] | None:
        """`verify_endpoint` split into host and port, or None when no check is configured."""
        if self.verify_endpoint is None:
            return None
        return split_endpoint(self.verify_endpoint)


def _check_layout(config: TargetConfig) -> None:
    """Each type writes the files its server reads: a combined PEM or a certificate and key."""
    given = config.paths
    if config.target_type is TargetType.HAPROXY:
        required, allowed = {"pem_path"}, {"pem_path"}
    elif config.target_type is TargetType.FILE:
        required, allowed = set(), set(PATH_KEYS)
        if not {"cert_path", "pem_path"} & given.keys():
            raise InvalidRequest(
                "a File target needs cert_path or pem_path", field="config.cert_path"
            )
    else:
        required, allowed = {"cert_path", "key_path"}, {"cert_path", "key_path", "chain_path"}
    missing, foreign = sorted(required - given.keys()), sorted(given.keys() - allowed)
    if missing:
        raise InvalidRequest(
            f"required for a {config.target_type} target", field=f"config.{missing[0]}"
        )
    if foreign:
        raise InvalidRequest(
            f"not used by a {config.target_type} target", field=f"config.{foreign[0]}"
        )
    seen: dict[str, str] = {}
    for key, path in given.items():
        if path in seen:
            raise InvalidRequest(f"the same file as {seen[path]}", field=f"config.{key}")
        seen[path] = key


def split_endpoint(endpoint: str, *, field: str = "config.verify_endpoint") -> tuple[str, int]:
    """Split `host:port` or `[v6]:port` into host and port, refusing anything else."""
    host, sep, port_text = endpoint.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InvalidRequest("expected host:port with a port from 1 to 65535", field=field)
    if host.startswith("[") and host.endswith("]"):
        return _ipv6(host[1:-1], field), int(port_text)
    if not _SERVER_NAME.fullmatch(host):
        raise InvalidRequest(f"{host!r} is not a host name or address", field=field)
    return host, int(port_text)


def _ipv6(host: str, field: str) -> str:
    try:
        return str(ipaddress.IPv6Address(host))
    except ValueError as exc:
        raise InvalidRequest(f"{host!r} is not an IPv6 address", field=field) from exc


def parse_target_config(target_type: TargetType, raw: Mapping[str, Any]) -> TargetConfig:
    """Read a stored or submitted config into a TargetConfig, with Debian defaults filled in.

    Unknown keys are refused (a misspelt `reload_commnd` must not silently fall back to the
    default); every error names `config.<key>`.
    """
    if not isinstance(raw, Mapping):
        raise InvalidRequest("config must be an object", field="config")
    for key in raw:
        if key not in _READERS:
            raise InvalidRequest("unknown key", field=f"config.{key}")
    validate, reload = DEFAULT_COMMANDS[target_type]
    values: dict[str, Any] = {"validate_command": validate, "reload_command": reload}
    for key, value in raw.items():
        if value is not None:
            values[key] = _READERS[key](value, f"config.{key}")
    return TargetConfig(target_type=target_type, **values)


def _path(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidRequest("must be a string", field=field)
    if _has_control(value) or not PurePosixPath(value).is_absolute():
        raise InvalidRequest("must be an absolute path without control characters", field=field)
    parts = PurePosixPath(value).parts
    if ".." in parts or value.endswith("/") or len(value) > 4096:
        raise InvalidRequest("must name a file, without '..' components", field=field)
    return value


def _has_control(value: str) -> bool:
    return any(_is_control(c) for c in value)


def _command(value: Any, field: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or len(value) > _MAX_ARGS:
        raise InvalidRequest(f"must be a list of at most {_MAX_ARGS} strings", field=field)
    for arg in value:
        if not isinstance(arg, str) or not arg or len(arg) > _MAX_ARG_LENGTH:
            raise InvalidRequest(
                f"each argument must be a non-empty string of at most {_MAX_ARG_LENGTH} characters",
                field=field,
            )
    refuse_shell_metacharacters(value, field=field)
    return tuple(value)


def _timeout(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 3600:
        raise InvalidRequest("must be a number of seconds from 1 to 3600", field=field)
    return float(value)


def _endpoint(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidRequest("must be a string host:port", field=field)
    split_endpoint(value, field=field)
    return value


def _server_name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _SERVER_NAME.fullmatch(value):
        raise InvalidRequest("must be a DNS name", field=field)
    return value


def _flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequest("must be true or false", field=field)
    return value


def _backups(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise InvalidRequest("must be a whole number from 1 to 100", field=field)
    return value


def _account(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _ACCOUNT.fullmatch(value):
        raise InvalidRequest("must be a user or group name or a numeric id", field=field)
    return value


def _mode(value: Any, field: str) -> int:
    # One mode covers every file written, and at least one holds a private key: nothing for
    # "other", and no setuid/setgid/sticky bits.
    if not isinstance(value, str) or not _MODE.fullmatch(value):
        raise InvalidRequest('must be an octal string such as "0640"', field=field)
    mode = int(value, 8)
    if mode & 0o007:
        raise InvalidRequest("must not grant access to others (the key is in it)", field=field)
    return mode


_READERS: Mapping[str, Callable[[Any, str], Any]] = {
    "cert_path": _path,
    "key_path": _path,
    "chain_path": _path,
    "pem_path": _path,
    "validate_command": _command,
    "reload_command": _command,
    "command_timeout_seconds": _timeout,
    "verify_endpoint": _endpoint,
    "verify_server_name": _server_name,
    "rollback_on_verify_failure": _flag,
    "backups": _backups,
    "owner": _account,
    "group": _account,
    "mode": _mode,
}
