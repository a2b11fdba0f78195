"""The server transport: TLS 1.2 minimum and which hosts count as loopback (C10)."""

from __future__ import annotations

import ssl

import pytest

from certctl.api.transport import tls12_context
from certctl.settings import Settings, is_loopback


def test_tls_context_refuses_versions_below_1_2() -> None:
    """The context handed to uvicorn has TLS 1.2 as its minimum version."""
    context = tls12_context(None, lambda: ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("certctl.example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    """Only loopback addresses and the localhost names are loopback."""
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("fields", "refused"),
    [
        ({"server_host": "127.0.0.1"}, False),
        ({"server_host": "0.0.0.0"}, True),
        ({"server_host": "0.0.0.0", "server_tls_terminated_by_proxy": True}, False),
        (
            {
                "server_host": "0.0.0.0",
                "server_tls_cert_path": "/etc/certctl/tls.crt",
                "server_tls_key_path": "/etc/certctl/tls.key",
            },
            False,
        ),
    ],
)
def test_plain_http_refusal(fields: dict[str, object], refused: bool) -> None:
    """Plain HTTP is refused beyond loopback unless TLS is configured or a proxy is stated."""
    assert (Settings(**fields).plain_http_refusal() is not None) is refused  # type: ignore[arg-type]
