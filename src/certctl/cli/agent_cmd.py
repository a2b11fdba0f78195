"""`certctl agent`: run the agent process on a host (C7), configured by flags or CERTCTL_*."""

from __future__ import annotations

import asyncio
import signal
import socket
import ssl
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from certctl.agent.deploy import deploy_with_library
from certctl.agent.main import AgentConfig, AgentLoop, StopAwareSleep, host_facts
from certctl.client.agent import AgentClient
from certctl.clock import SystemClock
from certctl.logconfig import configure_logging

DEFAULT_STATE_DIR = Path("/var/lib/certctl-agent")


def agent(
    server_url: Annotated[
        str, typer.Option(envvar="CERTCTL_SERVER_URL", help="The certctl server's URL.")
    ],
    name: Annotated[
        str | None,
        typer.Option(envvar="CERTCTL_AGENT_NAME", help="Agent name (default: the host name)."),
    ] = None,
    key_dir: Annotated[
        Path,
        typer.Option(envvar="CERTCTL_KEY_DIR", help="Where private keys are kept (0700)."),
    ] = DEFAULT_STATE_DIR / "keys",
    state_dir: Annotated[
        Path,
        typer.Option(
            envvar="CERTCTL_AGENT_STATE_DIR", help="Where the agent keeps its credential (0700)."
        ),
    ] = DEFAULT_STATE_DIR,
    discovery_dirs: Annotated[
        str,
        typer.Option(
            envvar="CERTCTL_DISCOVERY_DIRS", help="Directories to scan for certificates (':')."
        ),
    ] = "",
    discovery_interval: Annotated[
        float,
        typer.Option(
            envvar="CERTCTL_AGENT_DISCOVERY_INTERVAL",
            min=0.25,
            help="Hours between two scans of the discovery directories.",
        ),
    ] = 6.0,
    poll_interval: Annotated[
        float,
        typer.Option(
            envvar="CERTCTL_AGENT_POLL_INTERVAL", min=1, help="Seconds between two polls for work."
        ),
    ] = 30.0,
    ca_bundle: Annotated[
        Path | None,
        typer.Option(
            envvar="CERTCTL_SERVER_CA_BUNDLE_PATH", help="CA bundle that signs the server's TLS."
        ),
    ] = None,
    bootstrap_token: Annotated[
        str | None,
        typer.Option(
            envvar="CERTCTL_AGENT_BOOTSTRAP_TOKEN", help="Token for the first registration."
        ),
    ] = None,
    log_format: Annotated[str, typer.Option(envvar="CERTCTL_LOG_FORMAT")] = "json",
) -> None:
    """Run the agent: register, heartbeat, make keys and CSRs, deploy certificates."""
    configure_logging(fmt="console" if log_format == "console" else "json")
    config = AgentConfig(
        server_url=server_url,
        name=name or socket.gethostname(),
        key_dir=key_dir,
        state_dir=state_dir,
        bootstrap_token=bootstrap_token,
        discovery_dirs=tuple(Path(d) for d in discovery_dirs.split(":") if d),
        discovery_interval=timedelta(hours=discovery_interval),
        poll_interval=timedelta(seconds=poll_interval),
    )
    verify: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=str(ca_bundle)) if ca_bundle else True
    )
    raise typer.Exit(asyncio.run(_run(config, verify)))


async def _run(config: AgentConfig, verify: ssl.SSLContext | bool) -> int:
    sleep = StopAwareSleep()
    async with AgentClient(config.server_url, verify=verify) as client:
        loop = AgentLoop(
            config,
            client,
            deploy_with_library,
            clock=SystemClock(),
            sleep=sleep,
            facts=host_facts(),
        )

        def stop() -> None:
            loop.stop()
            sleep.stopped.set()

        running = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            running.add_signal_handler(signum, stop)
        return await loop.run()


def register(app: typer.Typer) -> None:
    """Add `certctl agent` to the CLI."""
    app.command(name="agent")(agent)
