"""SSRF guard for outbound URLs and hosts: refuse metadata, loopback, multicast, private (C4, C10).

The host is resolved and *every* address it resolves to is checked, so a public name that
points at 127.0.0.1 or 169.254.169.254 is refused too. The check runs at delivery time; the
connection itself resolves the name again, so a DNS answer that changes in between (rebinding)
is not covered here.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Iterable

import httpx

from certctl.errors import InvalidRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Iterable[str]]
"""Resolve (host, port) to address strings; `socket.getaddrinfo` unless a test injects one."""

_SCHEMES = {"http": 80, "https": 443}


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, through the system resolver."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidRequest(f"cannot resolve host {host!r}", field="url") from exc
    return [str(info[4][0]) for info in infos]


def check_url(
    url: str, *, allow_private: bool, field: str = "url", resolve: Resolver = resolve_host
) -> str:
    """Return `url` if it is http(s) and none of its host's addresses is forbidden.

    Always refused: link-local (169.254.0.0/16 with the cloud metadata address, fe80::/10),
    multicast, unspecified and reserved addresses. Refused unless `allow_private`: loopback and
    private ranges (RFC 1918, fc00::/7 unique local, and other non-global space).
    """
    host, port = _split(url, field)
    check_host(host, port, allow_private=allow_private, field=field, resolve=resolve)
    return url


def check_host(
    host: str, port: int, *, allow_private: bool, field: str, resolve: Resolver = resolve_host
) -> None:
    """Refuse a host (name or address literal) any of whose addresses `check_url` forbids."""
    literal = _parse_ip(host.strip("[]"))
    try:
        addresses = [literal] if literal else [_parse_ip(a) for a in resolve(host, port)]
    except InvalidRequest as exc:
        raise InvalidRequest(exc.detail, field=field) from exc
    if not addresses:
        raise InvalidRequest(f"cannot resolve host {host!r}", field=field)
    for address in addresses:
        if address is None:
            raise InvalidRequest(f"host {host!r} resolved to an unusable address", field=field)
        _check_address(address, host, allow_private=allow_private, field=field)


async def check_url_async(url: str, *, allow_private: bool, field: str = "url") -> str:
    """`check_url` off the event loop: getaddrinfo blocks, so it runs in a worker thread."""
    host, _ = _split(url, field)
    if _parse_ip(host) is not None:
        return check_url(url, allow_private=allow_private, field=field)
    return await asyncio.to_thread(check_url, url, allow_private=allow_private, field=field)


async def check_host_async(host: str, port: int, *, allow_private: bool, field: str) -> None:
    """`check_host` off the event loop (for non-HTTP connections such as SMTP)."""
    if _parse_ip(host.strip("[]")) is not None:
        check_host(host, port, allow_private=allow_private, field=field)
        return
    await asyncio.to_thread(check_host, host, port, allow_private=allow_private, field=field)


def address_category(address: IPAddress) -> str | None:
    """Why an address is special ("link-local", "loopback", "private"...), or None if public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:127.0.0.1 reaches 127.0.0.1; Python 3.11 does not classify mapped addresses.
        address = address.ipv4_mapped
    for category, test in _CATEGORIES:
        if test(address):
            return category
    return None


_CATEGORIES: tuple[tuple[str, Callable[[IPAddress], bool]], ...] = (
    ("unspecified", lambda a: a.is_unspecified),
    ("link-local", lambda a: a.is_link_local),
    ("multicast", lambda a: a.is_multicast),
    ("loopback", lambda a: a.is_loopback),
    ("reserved", lambda a: a.is_reserved),
    ("private", lambda a: a.is_private or not a.is_global),
)
_ALLOWED_WITH_PRIVATE = frozenset({"loopback", "private"})


def _check_address(address: IPAddress, host: str, *, allow_private: bool, field: str) -> None:
    category = address_category(address)
    if category is None or (allow_private and category in _ALLOWED_WITH_PRIVATE):
        return
    where = f"{host} ({address})" if host != str(address) else str(address)
    article = "an" if category[0] in "aeiou" else "a"
    raise InvalidRequest(
        f"{field} must not point to {article} {category} address: {where}", field=field
    )


def _split(url: str, field: str) -> tuple[str, int]:
    # Parse the way httpx will when it connects, so both agree on the host.
    try:
        parts = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise InvalidRequest(f"{field} is not a valid URL", field=field) from exc
    if parts.scheme not in _SCHEMES:
        raise InvalidRequest(f"{field} must use http or https", field=field)
    if not parts.host:
        raise InvalidRequest(f"{field} has no host", field=field)
    return parts.host, parts.port or _SCHEMES[parts.scheme]


def _parse_ip(text: str) -> IPAddress | None:
    try:
        # getaddrinfo gives scoped IPv6 link-local addresses as "fe80::1%eth0".
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
