"""The SSRF guard on outbound URLs (C4, C10)."""

from __future__ import annotations

import socket
from collections.abc import Iterable

import pytest

from certctl.connectors import ssrf
from certctl.connectors.ssrf import check_url, check_url_async
from certctl.errors import InvalidRequest


def _resolver(*addresses: str) -> ssrf.Resolver:
    def resolve(host: str, port: int) -> Iterable[str]:
        return addresses

    return resolve


def _refusal(url: str, *, allow_private: bool, **kwargs: object) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        check_url(url, allow_private=allow_private, **kwargs)  # type: ignore[arg-type]
    return caught.value


REFUSED = [
    ("http://127.0.0.1/", False, "a loopback address: 127.0.0.1"),
    ("http://127.1:8080/", False, "a loopback address: 127.1 (127.0.0.1)"),
    ("http://[::1]/", False, "a loopback address: ::1"),
    ("http://10.1.2.3/", False, "a private address: 10.1.2.3"),
    ("http://172.16.0.1/", False, "a private address: 172.16.0.1"),
    ("http://172.31.255.254/", False, "a private address: 172.31.255.254"),
    ("http://192.168.1.1/", False, "a private address: 192.168.1.1"),
    ("http://[fd00::1]/", False, "a private address: fd00::1"),
    ("http://100.64.0.1/", False, "a private address: 100.64.0.1"),
    ("http://169.254.169.254/latest/meta-data/", False, "a link-local address: 169.254.169.254"),
    ("http://169.254.169.254/latest/meta-data/", True, "a link-local address: 169.254.169.254"),
    ("http://169.254.1.1/", True, "a link-local address: 169.254.1.1"),
    ("http://[fe80::1]/", True, "a link-local address: fe80::1"),
    (
        "http://[::ffff:169.254.169.254]/",
        True,
        "a link-local address: ::ffff:169.254.169.254 (::ffff:a9fe:a9fe)",
    ),
    ("http://[::ffff:127.0.0.1]/", False, "a loopback address: ::ffff:127.0.0.1 (::ffff:7f00:1)"),
    ("http://224.0.0.1/", True, "a multicast address: 224.0.0.1"),
    ("http://[ff02::1]/", True, "a multicast address: ff02::1"),
    ("http://0.0.0.0:8080/", True, "an unspecified address: 0.0.0.0"),
    ("http://[::]/", True, "an unspecified address: ::"),
    ("http://255.255.255.255/", True, "a reserved address: 255.255.255.255"),
    ("http://240.0.0.1/", True, "a reserved address: 240.0.0.1"),
]


@pytest.mark.parametrize(("url", "allow_private", "reason"), REFUSED)
def test_forbidden_addresses_are_refused(url: str, allow_private: bool, reason: str) -> None:
    """Metadata, link-local, multicast, unspecified and reserved always; the rest unless allowed."""
    error = _refusal(url, allow_private=allow_private)
    assert (error.detail, error.field) == (f"url must not point to {reason}", "url")


@pytest.mark.parametrize(
    ("url", "allow_private"),
    [
        ("https://8.8.8.8/hook", False),
        ("http://[2606:4700:4700::1111]:8443/x", False),
        ("HTTPS://1.1.1.1/", False),
        ("http://127.0.0.1:8080/hook", True),
        ("http://[::1]/", True),
        ("http://10.0.0.1/", True),
        ("http://172.16.0.1/", True),
        ("http://192.168.0.10/", True),
        ("http://[fd12:3456::1]/", True),
    ],
)
def test_allowed_addresses_pass(url: str, allow_private: bool) -> None:
    """Public addresses always pass; loopback and private ones only with allow_private."""
    assert check_url(url, allow_private=allow_private) == url


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("ftp://8.8.8.8/file", "url must use http or https"),
        ("file:///etc/passwd", "url must use http or https"),
        ("gopher://8.8.8.8:70/", "url must use http or https"),
        ("8.8.8.8/path", "url must use http or https"),
        ("http:///path", "url has no host"),
        ("http://[::1/", "url is not a valid URL"),
    ],
)
def test_malformed_urls_are_refused(url: str, detail: str) -> None:
    """Only http and https URLs with a host are accepted."""
    assert _refusal(url, allow_private=True).detail == detail


def test_error_names_the_given_field() -> None:
    """The field kwarg is what the error names, for API problem details."""
    error = _refusal("http://10.0.0.1/", allow_private=False, field="config.webhook_url")
    assert (error.field, error.detail) == (
        "config.webhook_url",
        "config.webhook_url must not point to a private address: 10.0.0.1",
    )


def test_every_resolved_address_is_checked() -> None:
    """A name resolving to one public and one private address is refused."""
    resolve = _resolver("93.184.215.14", "10.0.0.7")
    error = _refusal("https://hooks.example.com/x", allow_private=False, resolve=resolve)
    assert error.detail == "url must not point to a private address: hooks.example.com (10.0.0.7)"


def test_name_resolving_to_public_addresses_passes() -> None:
    """A name whose addresses are all public is allowed."""
    resolve = _resolver("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    url = "https://hooks.example.com/x"
    assert check_url(url, allow_private=False, resolve=resolve) == url


def test_scoped_link_local_answer_is_refused() -> None:
    """getaddrinfo's scoped IPv6 form (fe80::1%eth0) is still recognised as link-local."""
    error = _refusal("http://printer.lan/", allow_private=True, resolve=_resolver("fe80::1%eth0"))
    assert error.detail == "url must not point to a link-local address: printer.lan (fe80::1)"


def test_name_without_addresses_is_refused() -> None:
    """An empty resolver answer is a refusal, not a pass."""
    error = _refusal("http://void.example/", allow_private=True, resolve=_resolver())
    assert error.detail == "cannot resolve host 'void.example'"


def test_resolution_failure_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name the system resolver cannot find is refused under the caller's field."""

    def fail(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    error = _refusal("https://nowhere.example/", allow_private=False, field="events_url")
    assert (error.detail, error.field) == ("cannot resolve host 'nowhere.example'", "events_url")


def test_localhost_resolves_to_loopback() -> None:
    """`localhost` goes through the real resolver (no network) and is loopback."""
    error = _refusal("http://localhost:8080/", allow_private=False)
    assert error.detail.startswith("url must not point to a loopback address: localhost (")


def test_localhost_passes_when_private_allowed() -> None:
    """Tests and labs reach local receivers with allow_private."""
    assert check_url("http://localhost:8080/", allow_private=True) == "http://localhost:8080/"


async def test_async_check_resolves_off_the_loop() -> None:
    """The async form gives the same answer for names it resolves in a thread."""
    with pytest.raises(InvalidRequest) as caught:
        await check_url_async("http://localhost/", allow_private=False, field="url")
    assert caught.value.detail.startswith("url must not point to a loopback address: localhost (")


async def test_async_check_passes_ip_literals() -> None:
    """An allowed IP literal needs no resolution at all."""
    assert await check_url_async("http://127.0.0.1:9/", allow_private=True) == "http://127.0.0.1:9/"
