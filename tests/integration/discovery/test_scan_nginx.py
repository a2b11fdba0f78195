"""A network scan finds Debian's nginx serving a certificate on loopback, and a claim manages it."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from certctl.testing.postgres import free_port
from certctl.testing.tlsserver import Issued, OpensslCA, sha256_of

NGINX_CONF = """\
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{port} ssl;
    server_name shop.test;
    ssl_certificate {chain};
    ssl_certificate_key {key};
    return 200 "ok";
  }}
}}
"""


def _listening(port: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Issued:
    """A leaf for shop.test and its root, made with openssl."""
    ca = OpensslCA(tmp_path_factory.mktemp("nginx-ca"))
    return ca.issue("shop", "shop.test", ["shop.test"], serial=0x4E47)


@pytest.fixture
def nginx(issued: Issued, tmp_path: Path) -> Iterator[int]:
    """nginx on 127.0.0.1 serving the leaf and root; yields its port."""
    port = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(NGINX_CONF.format(d=tmp_path, port=port, chain=issued.chain, key=issued.key))
    argv = ["nginx", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(conf)]
    # nginx daemonises itself; `-s stop` reads its pid file.
    subprocess.run(argv, check=True, capture_output=True)
    try:
        if not _listening(port, time.monotonic() + 10):
            log = (tmp_path / "error.log").read_text()
            raise RuntimeError(f"nginx did not start: {log}")
        yield port
    finally:
        subprocess.run([*argv, "-s", "stop"], check=True, capture_output=True)


async def test_the_scan_finds_nginx_and_the_claim_manages_its_certificate(
    api: httpx.AsyncClient, issued: Issued, nginx: int
) -> None:
    """One endpoint: nginx's chain; claiming it gives an Active certificate for shop.test."""
    created = await api.post(
        "/api/v1/discovery-scans",
        json={"cidrs": ["127.0.0.1"], "ports": [nginx], "server_name": "shop.test"},
    )
    scan = (await api.get(f"/api/v1/discovery-scans/{created.json()['id']}")).json()
    (endpoint,) = scan["endpoints"]
    assert (endpoint["port"], endpoint["server_name"]) == (nginx, "shop.test")
    assert endpoint["leaf_fingerprint_sha256"] == sha256_of(issued.cert)
    assert endpoint["chain_pem"] == issued.chain.read_text()
    claimed = await api.post(f"/api/v1/discoveries/{endpoint['discovery_id']}/claim", json={})
    cert = claimed.json()["certificate"]
    assert (claimed.status_code, cert["common_name"], cert["status"]) == (
        201,
        "shop.test",
        "Active",
    )
