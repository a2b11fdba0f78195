"""The agent loop: register once, heartbeat every 60 s, poll for work every 30 s (C7).

With discovery directories configured it also scans them at start and then every
`discovery_interval` (6 h by default) and reports what it found (C8).

Failed calls back off (60, 120, 240 s, then every 5 min) until the server answers again. A
retired agent (410) exits 0; SIGTERM lets the current job finish, then the loop exits 0.
Time comes from an injected clock and the waits from an injected sleeper, so tests run it
under a frozen clock.
"""

from __future__ import annotations

import asyncio
import platform
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import structlog

from certctl import __version__
from certctl.agent.discovery import scan_paths
from certctl.agent.keystore import KeyStore
from certctl.agent.state import AgentIdentity, StateFile
from certctl.agent.work import Deployer, WorkRunner
from certctl.client.agent import AgentClient, HostFacts
from certctl.client.errors import ClientError
from certctl.clock import Clock
from certctl.domain.agents import HEARTBEAT_INTERVAL, POLL_INTERVAL, failure_delay

log = structlog.get_logger("certctl.agent")

Sleep = Callable[[float], Awaitable[None]]
DISCOVERY_INTERVAL = timedelta(hours=6)


@dataclass(frozen=True)
class AgentConfig:
    """Where the agent talks to and keeps its state."""

    server_url: str
    name: str
    key_dir: Path
    state_dir: Path
    bootstrap_token: str | None = None
    discovery_dirs: tuple[Path, ...] = ()
    discovery_interval: timedelta = DISCOVERY_INTERVAL
    poll_interval: timedelta = POLL_INTERVAL


class Retired(Exception):
    """The server answered 410: this agent was retired."""


def host_facts() -> HostFacts:
    """This host's name, OS, architecture and addresses, with the agent's version."""
    hostname = socket.getfqdn() or socket.gethostname()
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None)
        addresses = sorted({str(info[4][0]).split("%")[0] for info in infos})
    except OSError:
        addresses = []
    return HostFacts(
        version=__version__,
        hostname=hostname,
        os=platform.system().lower(),
        arch=platform.machine(),
        addresses=addresses[:64],
    )


class AgentLoop:
    """One agent process's life: register, then heartbeats and work until told to stop."""

    def __init__(
        self,
        config: AgentConfig,
        client: AgentClient,
        deployer: Deployer,
        *,
        clock: Clock,
        sleep: Sleep,
        facts: HostFacts,
    ) -> None:
        self.config = config
        self.client = client
        self.deployer = deployer
        self.clock = clock
        self._sleep = sleep
        self.facts = facts
        self.state = StateFile(config.state_dir)
        self.keys = KeyStore(config.key_dir)
        self.stopping = False
        self.failures = 0

    def stop(self) -> None:
        """Finish the current job, then leave the loop (SIGTERM)."""
        self.stopping = True

    def _stopped(self) -> bool:
        return self.stopping

    async def run(self) -> int:
        """Run until stopped or retired; the process exit code (0 in both cases)."""
        try:
            identity = await self._identity()
            if identity is None:
                return 0
            await self._serve(identity)
        except Retired:
            log.info("agent.retired", name=self.config.name)
        return 0

    async def _identity(self) -> AgentIdentity | None:
        """The saved identity, or a new registration retried with backoff."""
        saved = self.state.load(self.config.server_url)
        if saved is not None:
            self.client.use_credential(saved.credential)
            return saved
        while not self.stopping:
            if not self.config.bootstrap_token:
                raise SystemExit("first start: set CERTCTL_AGENT_BOOTSTRAP_TOKEN to register")
            try:
                answer = await self.client.register(
                    name=self.config.name,
                    facts=self.facts,
                    bootstrap_token=self.config.bootstrap_token,
                )
            except ClientError as exc:
                await self._sleep(self._failed("agent.register_failed", exc))
                continue
            identity = AgentIdentity(
                self.config.server_url.rstrip("/"), answer["agent_id"], answer["credential"]
            )
            self.state.save(identity)
            log.info("agent.registered", agent_id=identity.agent_id)
            return identity
        return None

    async def _serve(self, identity: AgentIdentity) -> None:
        runner = WorkRunner(
            self.client,
            identity.agent_id,
            self.keys,
            self.deployer,
            backup_root=self.config.state_dir / "backups",
        )
        next_heartbeat = next_poll = self.clock.now()
        # No directories, no scans: the far future never comes due.
        next_discovery = (
            self.clock.now()
            if self.config.discovery_dirs
            else datetime.max.replace(tzinfo=next_poll.tzinfo)
        )
        while not self.stopping:
            now = self.clock.now()
            ok = True
            if now >= next_heartbeat:
                ok = await self._call(self.client.heartbeat(identity.agent_id, self.facts))
                next_heartbeat = now + HEARTBEAT_INTERVAL
            if ok and now >= next_poll and not self.stopping:
                ok = await self._call(self._work(runner, identity.agent_id))
                next_poll = now + self.config.poll_interval
            if ok and now >= next_discovery and not self.stopping:
                ok = await self._call(self._discover(identity.agent_id))
                # A failed report is retried with the backoff below, not 6 h later.
                next_discovery = now + self.config.discovery_interval if ok else now
            if not ok:
                # The server is unreachable or failing: back off all, whichever failed.
                next_heartbeat = next_poll = now + failure_delay(self.failures)
                next_discovery = max(next_discovery, next_poll)
            if self._stopped():
                return
            wake = min(next_heartbeat, next_poll, next_discovery)
            await self._sleep(max(0.0, (wake - self.clock.now()).total_seconds()))

    async def _work(self, runner: WorkRunner, agent_id: str) -> None:
        work = await self.client.work(agent_id)
        # After SIGTERM the current item finishes; the leased rest returns when its lease ends.
        for csr in work["csr_jobs"]:
            if self.stopping:
                return
            await _one_item(runner.issue(csr), csr["job_id"])
        for deployment in work["deployments"]:
            if self.stopping:
                return
            await _one_item(runner.deploy(deployment), deployment["job_id"])

    async def _discover(self, agent_id: str) -> None:
        """Scan the discovery directories (off the event loop) and report what was found."""
        found = await asyncio.to_thread(scan_paths, self.config.discovery_dirs)
        summary = await self.client.report_discoveries(agent_id, found)
        log.info("agent.discovery_reported", **summary)

    async def _call(self, call: Awaitable[object]) -> bool:
        """Run one server call; False (and one more failure) when it did not get through."""
        try:
            await call
        except ClientError as exc:
            if exc.status == 410:
                raise Retired from exc
            self._failed("agent.call_failed", exc)
            return False
        self.failures = 0
        return True

    def _failed(self, event: str, exc: ClientError) -> float:
        if exc.status == 410:
            raise Retired from exc
        self.failures += 1
        delay = failure_delay(self.failures)
        log.warning(event, error=exc.message, failures=self.failures, retry_in=delay.seconds)
        return delay.total_seconds()


async def _one_item(work: Awaitable[None], job_id: str) -> None:
    """Run one work item; the server refusing that item (a 4xx) does not stop the others."""
    try:
        await work
    except ClientError as exc:
        if exc.status is None or exc.status == 410 or exc.status >= 500:
            raise
        log.warning("agent.item_refused", job_id=job_id, error=exc.message)


class StopAwareSleep:
    """asyncio.sleep that a stop request cuts short."""

    def __init__(self) -> None:
        self.stopped = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stopped.wait(), timeout=seconds)
        except TimeoutError:
            return
