"""Server-side commands: migrate, seed, create keys and run uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog
import uvicorn
from uvicorn.supervisors import Multiprocess

from certctl.api.app import create_app
from certctl.api.heap import settle_heap
from certctl.api.transport import (
    BODY_TIMEOUT_ATTR,
    HEADER_TIMEOUT_ATTR,
    DeadlineHttpToolsProtocol,
    tls12_context,
)
from certctl.bootstrap import build_context, migrate
from certctl.domain.access import SYSTEM_CALLER, Role
from certctl.domain.audit_chain import ChainReport
from certctl.errors import ConfigurationError
from certctl.logconfig import configure_logging
from certctl.services.demo import DemoSeeder
from certctl.settings import Settings, is_loopback

log = structlog.get_logger("certctl.server")


async def migrate_only(settings: Settings) -> None:
    """Bring the database to head."""
    _ensure_sqlite_dir(settings)
    await migrate(settings)


async def migrate_and_seed(settings: Settings) -> int:
    """Migrate, then load the demo estate if it is missing; return certificates created."""
    await migrate_only(settings)
    ctx = build_context(settings)
    try:
        seeder = DemoSeeder(
            now=ctx.clock.now(),
            inventory={
                "teams": ctx.teams,
                "owners": ctx.owners,
                "profiles": ctx.profiles,
                "policies": ctx.policies,
                "issuers": ctx.issuers,
                "targets": ctx.targets,
                "channels": ctx.channels,
            },
            certificates=ctx.certificates,
            jobs=ctx.jobs,
            agents=ctx.agents,
        )
        return await seeder.seed()
    finally:
        await ctx.aclose()


async def create_key(settings: Settings, *, name: str, role: Role) -> str:
    """Store a new API key as the system actor and return its secret."""
    await migrate_only(settings)
    ctx = build_context(settings)
    try:
        _, secret = await ctx.api_keys.create(SYSTEM_CALLER, name=name, role=role)
        return secret
    finally:
        await ctx.aclose()


def _ensure_sqlite_dir(settings: Settings) -> None:
    url = settings.database_url
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def run(settings: Settings) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM); several workers share the port."""
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    config = _uvicorn_config(settings)
    if settings.server_workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    settle_heap()  # the app is built (`_uvicorn_config`): what start-up made lives on
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        raise SystemExit(3)


def _uvicorn_config(settings: Settings) -> uvicorn.Config:
    cert, key = settings.server_tls_cert_path, settings.server_tls_key_path
    target: Any = "certctl.api.asgi:app_factory"
    if settings.server_workers == 1:
        target = create_app(build_context(settings))
    if cert is None and not is_loopback(settings.server_host):
        log.warning(
            "server.plain_http_behind_tls_proxy",
            host=settings.server_host,
            port=settings.server_port,
            forwarded_allow_ips=settings.server_forwarded_allow_ips,
        )
    config = uvicorn.Config(
        target,
        factory=settings.server_workers > 1,
        workers=settings.server_workers,
        host=settings.server_host,
        port=settings.server_port,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=30,
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
        ssl_context_factory=tls12_context if cert else None,
        http=DeadlineHttpToolsProtocol,
        forwarded_allow_ips=settings.server_forwarded_allow_ips,
    )
    # Read by each connection's protocol, in every worker process (the config is copied).
    setattr(config, HEADER_TIMEOUT_ATTR, settings.server_header_timeout_seconds)
    setattr(config, BODY_TIMEOUT_ATTR, settings.server_body_timeout_seconds)
    return config


async def verify_audit(settings: Settings) -> ChainReport:
    """Verify the audit hash chain straight on the configured database (never migrating it:
    an auditor's check changes nothing)."""
    ctx = build_context(settings)
    try:
        if not await ctx.runtime.db.is_current():
            raise ConfigurationError(
                "the database schema is not current: run `certctl db upgrade` first"
            )
        return await ctx.audit.verify_chain()
    finally:
        await ctx.aclose()
