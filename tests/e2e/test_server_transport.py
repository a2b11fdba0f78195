"""`certctl serve` transport hardening on a real process: no plain HTTP beyond loopback
without a stated TLS proxy, and half-sent requests closed at their read deadline (C10)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from certctl.testing.process import serving_logged, start

pytestmark = pytest.mark.e2e
HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.5


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "CERTCTL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'certctl.db'}",
        "CERTCTL_LOG_FORMAT": "json",
        "CERTCTL_SCHEDULER_ENABLED": "false",
        "CERTCTL_SERVER_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "CERTCTL_SERVER_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
    }


def test_plain_http_on_all_interfaces_exits_2(tmp_path: Path) -> None:
    """0.0.0.0 without TLS settings or a stated proxy: exit 2 with one line, nothing bound."""
    proc = start(["serve"], {**_env(tmp_path), "CERTCTL_SERVER_HOST": "0.0.0.0"}, tmp_path)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.strip().splitlines() == [
        "error: refusing to serve plain HTTP on 0.0.0.0: set CERTCTL_SERVER_TLS_CERT_PATH and "
        "CERTCTL_SERVER_TLS_KEY_PATH, or CERTCTL_SERVER_TLS_TERMINATED_BY_PROXY=true when a "
        "proxy in front terminates TLS"
    ]


def test_stated_tls_proxy_serves_and_says_so(tmp_path: Path) -> None:
    """With CERTCTL_SERVER_TLS_TERMINATED_BY_PROXY=true it serves and logs the choice."""
    env = {
        **_env(tmp_path),
        "CERTCTL_SERVER_HOST": "0.0.0.0",
        "CERTCTL_SERVER_TLS_TERMINATED_BY_PROXY": "true",
    }
    with serving_logged(env, tmp_path) as (url, log):
        assert httpx.get(f"{url}/health", timeout=10).status_code == 200
        assert '"event": "server.plain_http_behind_tls_proxy"' in log.read_text()


def _closed_after(sock: socket.socket, limit: float) -> float:
    """Seconds until the server closes `sock` (reads until EOF), at most `limit`."""
    started = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return limit
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def test_half_sent_headers_are_closed_at_the_header_deadline(tmp_path: Path) -> None:
    """Twenty connections that sent part of their headers are all closed after ~1 s, while a
    complete request is still answered."""
    with serving_logged(_env(tmp_path), tmp_path) as (url, _):
        socks = [_connect(url) for _ in range(20)]
        for sock in socks:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: a")
        waits = [_closed_after(sock, 10) for sock in socks]
        for sock in socks:
            sock.close()
        assert httpx.get(f"{url}/health", timeout=10).status_code == 200
    assert all(w < HEADER_TIMEOUT + 2 for w in waits), waits
    # The first socket waited out the whole deadline; the others were closed with it.
    assert waits[0] >= HEADER_TIMEOUT - 0.5


def test_short_body_is_closed_at_the_body_deadline(tmp_path: Path) -> None:
    """A request declaring 1,000 body bytes that sends 10 is closed after ~1.5 s."""
    with serving_logged(_env(tmp_path), tmp_path) as (url, _), _connect(url) as sock:
        sent = time.monotonic()
        sock.sendall(
            b"POST /api/v1/teams HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"name": '
        )
        _closed_after(sock, 10)
        waited = time.monotonic() - sent
    assert BODY_TIMEOUT - 0.5 <= waited < BODY_TIMEOUT + 2


def test_a_slow_but_steady_request_inside_the_deadlines_is_served(tmp_path: Path) -> None:
    """Headers sent in two parts 0.3 s apart still get their answer."""
    with serving_logged(_env(tmp_path), tmp_path) as (url, _), _connect(url) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.3)  # a real client's pause, not a wait for the clock
        sock.sendall(b"Connection: close\r\n\r\n")
        sock.settimeout(10)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ")
