"""Client commands: `certctl certs|jobs|alerts|owners|policies|silences|issuers|audit|agents|…`.

They talk to a running certctl server over its REST API (``certctl.client``), never to the
database, so they work from any machine with an API key.
"""

from __future__ import annotations

import typer

from certctl.cli.client_cmds import (
    agents,
    alerts,
    audit,
    certs,
    discovery,
    issuers,
    jobs,
    notifications,
    owners,
    policies,
    quiet_hours,
    route_overrides,
    silences,
)
from certctl.cli.client_cmds.mcp_stdio import mcp
from certctl.cli.client_cmds.status import status


def register(app: typer.Typer) -> None:
    """Add the client command groups and commands to the root app."""
    app.add_typer(certs.app, name="certs")
    app.add_typer(jobs.app, name="jobs")
    app.add_typer(alerts.app, name="alerts")
    app.add_typer(notifications.app, name="notifications")
    app.add_typer(owners.app, name="owners")
    app.add_typer(policies.app, name="policies")
    app.add_typer(silences.app, name="silences")
    app.add_typer(quiet_hours.app, name="quiet-hours")
    app.add_typer(route_overrides.app, name="route-overrides")
    app.add_typer(issuers.app, name="issuers")
    app.add_typer(audit.app, name="audit")
    app.add_typer(agents.app, name="agents")
    app.add_typer(discovery.app, name="discovery")
    app.add_typer(discovery.drift_app, name="drift")
    app.command("status")(status)
    app.command("mcp")(mcp)
