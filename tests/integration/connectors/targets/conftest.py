"""Real nginx, Apache and HAProxy on loopback, each serving a first certificate to replace."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from certctl.connectors.targets import DeployBundle
from certctl.connectors.tlsprobe import ProbeFailed, probe
from certctl.domain.inventory import TargetType
from certctl.pki.facts import first_certificate_der
from certctl.testing import daemons
from certctl.testing.tlscerts import OpensslCA, ServerPair

NAME = "www.deploy.test"


def fingerprint(pair: ServerPair) -> str:
    """The leaf's SHA-256, as the probe reports it."""
    return hashlib.sha256(first_certificate_der(pair.cert_pem)).hexdigest()


def bundle(pair: ServerPair) -> DeployBundle:
    """What the agent hands to deploy for this pair."""
    return DeployBundle(cert_pem=pair.cert_pem, chain_pem=pair.chain_pem, key_pem=pair.key_pem)


class RecordingSleep:
    """An injected sleep that records the delays asked for and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@dataclass(frozen=True)
class Site:
    """One running daemon, its target type, the CA that made its first certificate."""

    kind: str
    target_type: TargetType
    daemon: daemons.Daemon
    ca: OpensslCA
    first: ServerPair
    workdir: Path

    @property
    def backup_dir(self) -> Path:
        """Where deploys to this site keep their backups."""
        return self.workdir / "backups"

    def config(self, **extra: Any) -> dict[str, Any]:
        """The site's target config (its files, commands and endpoint) plus `extra`."""
        return self.daemon.target_config(**extra)

    def file_bytes(self) -> dict[str, bytes]:
        """The current contents of every file a deploy writes."""
        return {key: path.read_bytes() for key, path in self.daemon.files.items()}

    async def served(self) -> str:
        """The fingerprint of the leaf the daemon serves right now."""
        return (await probe("127.0.0.1", self.daemon.port, server_name=NAME)).leaf_sha256

    async def serves_eventually(self, expected: str, within: float = 10.0) -> str:
        """Probe until the daemon serves `expected` (a reload is asynchronous); return the last."""
        deadline = time.monotonic() + within
        last = ""
        while time.monotonic() < deadline:
            try:
                last = await self.served()
            except ProbeFailed:
                last = "unreachable"
            if last == expected:
                return last
            await asyncio.sleep(0.1)
        return last


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> OpensslCA:
    """One test CA for the module's certificates."""
    return OpensslCA(tmp_path_factory.mktemp("ca"))


def _start(kind: str, workdir: Path, pair: ServerPair) -> daemons.Daemon:
    if kind == "nginx":
        return daemons.start_nginx(workdir, cert_pem=pair.fullchain_pem, key_pem=pair.key_pem)
    if kind == "apache":
        return daemons.start_apache(workdir, cert_pem=pair.fullchain_pem, key_pem=pair.key_pem)
    return daemons.start_haproxy(workdir, pem=pair.combined_pem)


TYPES = {"nginx": TargetType.NGINX, "apache": TargetType.APACHE, "haproxy": TargetType.HAPROXY}


@pytest.fixture(params=sorted(TYPES))
def site(request: pytest.FixtureRequest, tmp_path: Path, ca: OpensslCA) -> Iterator[Site]:
    """A daemon of each kind serving a first certificate for www.deploy.test."""
    kind: str = request.param
    first = ca.issue(NAME)
    daemon = _start(kind, tmp_path / kind, first)
    try:
        yield Site(kind, TYPES[kind], daemon, ca, first, tmp_path)
    finally:
        daemons.stop(daemon)


@pytest.fixture
def decoy(tmp_path: Path, ca: OpensslCA) -> Iterator[daemons.Daemon]:
    """Another nginx serving a certificate of its own: an endpoint serving something else."""
    pair = ca.issue(NAME)
    daemon = daemons.start_nginx(
        tmp_path / "decoy", cert_pem=pair.fullchain_pem, key_pem=pair.key_pem
    )
    try:
        yield daemon
    finally:
        daemons.stop(daemon)
