"""Debian's pebble ACME test CA and pebble-challtestsrv on loopback ports, for the ACME tests.

pebble needs a TLS certificate for its own listener: one is made here with the openssl CLI.
Its DNS lookups go to challtestsrv, which answers every A query with 127.0.0.1, so HTTP-01
validations reach `http_port` on loopback (where the test serves certctl). `PEBBLE_VA_NOSLEEP`
removes pebble's random validation delay.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from certctl.testing.postgres import free_port

EAB_KEYS = {
    # The key ids and HMAC keys of Debian's pebble-config-external-account-bindings.json.
    "kid-1": "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W",
    "kid-2": "b10lLJs8l1GPIzsLP0s6pMt8O0XVGnfTaCeROxQM0BIt2XrJMDHJZBM5NuQmQJQH",
}


class PebbleUnavailable(RuntimeError):
    """pebble or pebble-challtestsrv is not installed."""


@dataclass(frozen=True)
class Pebble:
    """A running pebble: its directory, management API and the trust anchor of its listener."""

    directory_url: str
    management_url: str
    challtestsrv_url: str
    dns_address: str
    listener_ca_pem: str
    workdir: Path

    def _management(self) -> httpx.Client:
        trust = ssl.create_default_context(cafile=str(self.workdir / "listener-cert.pem"))
        return httpx.Client(verify=trust, timeout=10)

    def root_pem(self) -> str:
        """The root that pebble's issued chains lead to (management API `/roots/0`)."""
        with self._management() as client:
            response = client.get(f"{self.management_url}/roots/0")
        response.raise_for_status()
        return response.text

    def certificate_status(self, serial_hex: str) -> dict[str, Any]:
        """pebble's record of an issued certificate (`Status` is `Valid` or `Revoked`)."""
        with self._management() as client:
            response = client.get(f"{self.management_url}/cert-status-by-serial/{serial_hex}")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def set_txt(self, host: str, value: str) -> None:
        """Add a TXT record through challtestsrv's management API."""
        self._challtestsrv("set-txt", {"host": host, "value": value})

    def clear_txt(self, host: str) -> None:
        """Remove the TXT records of `host`."""
        self._challtestsrv("clear-txt", {"host": host})

    def _challtestsrv(self, verb: str, body: Mapping[str, str]) -> None:
        response = httpx.post(f"{self.challtestsrv_url}/{verb}", json=dict(body), timeout=10)
        response.raise_for_status()


def _require(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        raise PebbleUnavailable(f"{binary} is not installed (Debian package pebble)")
    return path


def _listener_certificate(workdir: Path) -> str:
    """A self-signed certificate for 127.0.0.1/localhost, the trust anchor of pebble's TLS."""
    subprocess.run(  # noqa: S603 - fixed openssl arguments
        [
            _require("openssl"),
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(workdir / "listener-key.pem"),
            "-out",
            str(workdir / "listener-cert.pem"),
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return (workdir / "listener-cert.pem").read_text()


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args!r} exited early: {log.read_text()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"port {port} did not open within {timeout:.0f} s: {log.read_text()}")


def _start(args: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen(  # noqa: S603 - the Debian binaries found on PATH
            args, env={**os.environ, **env}, stdout=sink, stderr=subprocess.STDOUT
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def running_pebble(
    workdir: Path, *, http_port: int, eab: bool = False, nonce_reject: int = 0
) -> Iterator[Pebble]:
    """pebble + challtestsrv for the duration of the block; `http_port` is where HTTP-01
    validations are sent, `eab` requires External Account Binding (Debian's EAB example keys),
    `nonce_reject` is the percentage of good nonces pebble rejects as bad."""
    pebble, challtestsrv = _require("pebble"), _require("pebble-challtestsrv")
    workdir.mkdir(parents=True, exist_ok=True)
    listener_pem = _listener_certificate(workdir)
    ports = {name: free_port() for name in ("acme", "management", "dns", "challenges")}
    config: dict[str, Any] = {
        "listenAddress": f"127.0.0.1:{ports['acme']}",
        "managementListenAddress": f"127.0.0.1:{ports['management']}",
        "certificate": str(workdir / "listener-cert.pem"),
        "privateKey": str(workdir / "listener-key.pem"),
        "httpPort": http_port,
        "tlsPort": free_port(),
        "ocspResponderURL": "",
        "externalAccountBindingRequired": eab,
    }
    if eab:
        config["externalAccountMACKeys"] = EAB_KEYS
    (workdir / "pebble.json").write_text(json.dumps({"pebble": config}))
    dns = f"127.0.0.1:{ports['dns']}"
    helper = _start(
        [
            challtestsrv,
            "-management",
            f"127.0.0.1:{ports['challenges']}",
            "-dns01",
            dns,
            "-http01",
            "",
            "-https01",
            "",
            "-tlsalpn01",
            "",
            "-defaultIPv6",
            "",
        ],
        {},
        workdir / "challtestsrv.log",
    )
    server: subprocess.Popen[bytes] | None = None
    try:
        _wait_port(ports["challenges"], helper, workdir / "challtestsrv.log")
        server = _start(
            [pebble, "-config", str(workdir / "pebble.json"), "-dnsserver", dns],
            {
                "PEBBLE_VA_NOSLEEP": "1",
                "PEBBLE_WFE_NONCEREJECT": str(nonce_reject),
                # Fresh authorizations for every order: reuse would skip the validations
                # these tests are about.
                "PEBBLE_AUTHZREUSE": "0",
            },
            workdir / "pebble.log",
        )
        _wait_port(ports["acme"], server, workdir / "pebble.log")
        _wait_port(ports["management"], server, workdir / "pebble.log")
        yield Pebble(
            directory_url=f"https://127.0.0.1:{ports['acme']}/dir",
            management_url=f"https://127.0.0.1:{ports['management']}",
            challtestsrv_url=f"http://127.0.0.1:{ports['challenges']}",
            dns_address=dns,
            listener_ca_pem=listener_pem,
            workdir=workdir,
        )
    finally:
        if server is not None:
            _stop(server)
        _stop(helper)
