"""Target configs: layouts per type, Debian defaults, and the refusals that name the field (C7)."""

from __future__ import annotations

from typing import Any

import pytest

from certctl.domain.inventory import TargetType
from certctl.domain.targets import (
    DEFAULT_COMMANDS,
    SHELL_METACHARACTERS,
    TargetConfig,
    parse_target_config,
    refuse_shell_metacharacters,
    split_endpoint,
)
from certctl.errors import InvalidRequest

PAIR = {"cert_path": "/etc/ssl/a.crt", "key_path": "/etc/ssl/a.key"}
PEM = {"pem_path": "/etc/haproxy/certs/a.pem"}


def _refused(target_type: TargetType, raw: Any) -> str | None:
    with pytest.raises(InvalidRequest) as info:
        parse_target_config(target_type, raw)
    return info.value.field


@pytest.mark.parametrize(
    ("target_type", "validate", "reload"),
    [
        (TargetType.NGINX, ("nginx", "-t"), ("nginx", "-s", "reload")),
        (TargetType.APACHE, ("apache2ctl", "configtest"), ("apache2ctl", "graceful")),
        (TargetType.POSTFIX, ("postfix", "check"), ("postfix", "reload")),
        (TargetType.DOVECOT, ("doveconf", "-n"), ("doveadm", "reload")),
        (
            TargetType.CADDY,
            ("caddy", "validate", "--config", "/etc/caddy/Caddyfile"),
            ("caddy", "reload", "--config", "/etc/caddy/Caddyfile"),
        ),
        (TargetType.TRAEFIK, (), ()),
        (TargetType.ENVOY, (), ()),
    ],
)
def test_debian_defaults_fill_absent_commands(
    target_type: TargetType, validate: tuple[str, ...], reload: tuple[str, ...]
) -> None:
    """A certificate-and-key target without commands gets its type's Debian commands."""
    config = parse_target_config(target_type, PAIR)
    assert (config.validate_command, config.reload_command) == (validate, reload)
    assert config.paths == PAIR


def test_haproxy_defaults_check_the_main_config_and_reload_the_unit() -> None:
    """HAProxy writes one combined PEM, checks haproxy.cfg and reloads through systemd."""
    config = parse_target_config(TargetType.HAPROXY, PEM)
    assert config.validate_command == ("haproxy", "-c", "-f", "/etc/haproxy/haproxy.cfg")
    assert config.reload_command == ("systemctl", "reload", "haproxy")
    assert config.paths == PEM


def test_every_type_has_defaults() -> None:
    """No target type is missing from the default command table."""
    assert set(DEFAULT_COMMANDS) == set(TargetType)


def test_other_defaults() -> None:
    """Timeout 30 s, three backups, rollback on a failed check, no owner, group or mode."""
    config = parse_target_config(TargetType.FILE, {"cert_path": "/srv/a.pem"})
    assert config == TargetConfig(target_type=TargetType.FILE, cert_path="/srv/a.pem")
    assert (config.command_timeout_seconds, config.backups) == (30.0, 3)
    assert config.rollback_on_verify_failure is True
    assert (config.owner, config.group, config.mode, config.verify_address) == (
        None,
        None,
        None,
        None,
    )


def test_a_full_config_is_read_into_types() -> None:
    """Every key is read: commands become tuples, the mode an integer, null keeps a default."""
    raw = {
        **PAIR,
        "chain_path": "/etc/ssl/chain.pem",
        "validate_command": ["/usr/sbin/nginx", "-t", "-c", "/etc/nginx/nginx.conf"],
        "reload_command": [],
        "command_timeout_seconds": 12.5,
        "verify_endpoint": "[2001:db8::1]:8443",
        "verify_server_name": "www.example.com",
        "rollback_on_verify_failure": False,
        "backups": 7,
        "owner": "root",
        "group": "ssl-cert",
        "mode": "0640",
    }
    config = parse_target_config(TargetType.NGINX, {**raw, "owner": None})
    assert config.validate_command == ("/usr/sbin/nginx", "-t", "-c", "/etc/nginx/nginx.conf")
    assert config.reload_command == ()
    assert config.command_timeout_seconds == 12.5
    assert config.verify_address == ("2001:db8::1", 8443)
    assert config.verify_server_name == "www.example.com"
    assert config.rollback_on_verify_failure is False
    assert (config.backups, config.owner, config.group, config.mode) == (7, None, "ssl-cert", 0o640)
    assert config.chain_path == "/etc/ssl/chain.pem"


def test_numeric_owner_and_three_digit_mode() -> None:
    """Owners may be numeric ids and modes may omit the leading zero."""
    config = parse_target_config(TargetType.FILE, {**PEM, "owner": "1000", "mode": "600"})
    assert (config.owner, config.mode) == ("1000", 0o600)


@pytest.mark.parametrize(
    ("target_type", "raw", "field"),
    [
        (TargetType.NGINX, {"cert_path": "/a.crt"}, "config.key_path"),
        (TargetType.APACHE, {"key_path": "/a.key"}, "config.cert_path"),
        (TargetType.NGINX, {**PAIR, "pem_path": "/a.pem"}, "config.pem_path"),
        (TargetType.HAPROXY, {}, "config.pem_path"),
        (TargetType.HAPROXY, {**PEM, "cert_path": "/a.crt"}, "config.cert_path"),
        (TargetType.FILE, {"key_path": "/a.key"}, "config.cert_path"),
        (TargetType.FILE, {"cert_path": "/a", "key_path": "/a"}, "config.key_path"),
        (TargetType.NGINX, ["cert_path"], "config"),
        (TargetType.NGINX, {**PAIR, "reload_cmd": ["x"]}, "config.reload_cmd"),
    ],
)
def test_layout_refusals_name_the_key(target_type: TargetType, raw: Any, field: str) -> None:
    """A missing, foreign, duplicated or unknown key is refused naming it."""
    assert _refused(target_type, raw) == field


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("cert_path", 5),
        ("cert_path", "etc/ssl/a.crt"),
        ("cert_path", "/etc/ssl/../a.crt"),
        ("cert_path", "/etc/ssl/"),
        ("cert_path", "/etc/ssl/a\n.crt"),
        ("cert_path", "/" + "a" * 4096),
        ("validate_command", "nginx -t"),
        ("validate_command", ["x"] * 65),
        ("validate_command", ["nginx", ""]),
        ("validate_command", ["nginx", 1]),
        ("validate_command", ["a" * 1025]),
        ("reload_command", ["sh", "-c", "nginx -s reload; true"]),
        ("command_timeout_seconds", True),
        ("command_timeout_seconds", "30"),
        ("command_timeout_seconds", 0.5),
        ("command_timeout_seconds", 3601),
        ("verify_endpoint", 443),
        ("verify_endpoint", "example.com"),
        ("verify_endpoint", "example.com:0"),
        ("verify_endpoint", "example.com:65536"),
        ("verify_endpoint", "example.com:https"),
        ("verify_endpoint", ":443"),
        ("verify_endpoint", "bad host:443"),
        ("verify_endpoint", "::1:443"),
        ("verify_endpoint", "[not-v6]:443"),
        ("verify_server_name", "*.example.com"),
        ("verify_server_name", 7),
        ("rollback_on_verify_failure", "yes"),
        ("backups", 0),
        ("backups", 101),
        ("backups", True),
        ("backups", 2.0),
        ("owner", "Root User"),
        ("group", 0),
        ("mode", 0o640),
        ("mode", "0648"),
        ("mode", "4750"),
        ("mode", "0644"),
    ],
)
def test_value_refusals_name_the_key(key: str, value: Any) -> None:
    """A value of the wrong type or out of range is refused naming `config.<key>`."""
    assert _refused(TargetType.NGINX, {**PAIR, key: value}) == f"config.{key}"


@pytest.mark.parametrize("char", [*sorted(SHELL_METACHARACTERS), "\n", "\r", "\t", "\x00", "\x7f"])
def test_each_shell_metacharacter_is_refused(char: str) -> None:
    """Every character of the refused set, and control characters, stop a command."""
    raw = {**PAIR, "reload_command": ["systemctl", f"reload{char}nginx"]}
    assert _refused(TargetType.NGINX, raw) == "config.reload_command"


@pytest.mark.parametrize(
    "argv",
    [["nginx", "-s", "reload", "$(id)"], ["nginx", "`id`"], ["nginx", "-t", "&&rm"]],
)
def test_substitutions_are_refused_with_the_index(argv: list[str]) -> None:
    """The message tells which argument holds the metacharacter."""
    with pytest.raises(InvalidRequest) as info:
        refuse_shell_metacharacters(argv, field="config.validate_command")
    assert info.value.field == "config.validate_command"
    assert f"argument {len(argv) - 1} holds shell metacharacters" in info.value.detail


def test_plain_arguments_with_spaces_pass() -> None:
    """Spaces, dashes, equals signs, dots, colons and slashes are ordinary argument text."""
    refuse_shell_metacharacters(["/usr/bin/env", "A=b", "daemon off", "-c", "host:443"])


def test_direct_construction_is_checked_too() -> None:
    """A TargetConfig built without the parser still refuses metacharacters and bad layouts."""
    with pytest.raises(InvalidRequest) as info:
        TargetConfig(TargetType.FILE, cert_path="/a", reload_command=("a|b",))
    assert info.value.field == "config.reload_command"
    with pytest.raises(InvalidRequest) as info:
        TargetConfig(TargetType.FILE, cert_path="/a", validate_command=("a>b",))
    assert info.value.field == "config.validate_command"


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("127.0.0.1:443", ("127.0.0.1", 443)),
        ("www.example.com:8443", ("www.example.com", 8443)),
        ("[::1]:65535", ("::1", 65535)),
    ],
)
def test_split_endpoint(endpoint: str, expected: tuple[str, int]) -> None:
    """Names, IPv4 and bracketed IPv6 endpoints split into host and port."""
    assert split_endpoint(endpoint) == expected
