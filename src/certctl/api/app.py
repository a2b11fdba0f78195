"""create_app(ctx): the FastAPI application over an already-built context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from certctl import __version__
from certctl.api import dashboard, problems
from certctl.api.bodies import JsonDepthGuard
from certctl.api.deps import API_PREFIX
from certctl.api.middleware import RequestMiddleware
from certctl.api.routes import (
    admin,
    agent_protocol,
    alerts,
    certificates,
    discovery,
    inventory,
    issuers,
    jobs,
    notifications,
    pki,
    silences,
)
from certctl.bootstrap import AppContext
from certctl.scheduler.loops import build_scheduler

OPENAPI_URL = f"{API_PREFIX}/openapi.json"

DESCRIPTION = """\
certctl tracks every TLS certificate, alerts before expiry, issues, renews, deploys and revokes.

Authenticate with `Authorization: Bearer <api key>`. Errors are RFC 9457 problem+json with a
`request_id`; lists answer `{data, total, page, per_page}`.
"""


def create_app(ctx: AppContext) -> FastAPI:
    """Build the application; everything it uses comes from `ctx`."""

    scheduler = build_scheduler(ctx)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if ctx.settings.scheduler_enabled:
            scheduler.start()
        yield
        await scheduler.stop(drain_seconds=30)
        await ctx.aclose()

    app = FastAPI(
        lifespan=lifespan,
        title="certctl",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.state.scheduler = scheduler
    problems.install(app)
    # Routers carry their full /api/v1 prefix so route templates (metrics labels) are complete.
    for router in inventory.routers():
        app.include_router(router)
    app.include_router(jobs.certificates)
    app.include_router(certificates.router)
    app.include_router(jobs.jobs)
    app.include_router(jobs.agents)
    app.include_router(agent_protocol.protocol)
    app.include_router(pki.router)
    app.include_router(pki.public)
    app.include_router(issuers.router)
    app.include_router(issuers.challenges)
    app.include_router(admin.router)
    app.include_router(notifications.router)
    app.include_router(alerts.router)
    app.include_router(notifications.channels)
    app.include_router(notifications.admin)
    app.include_router(silences.silences)
    app.include_router(silences.quiet_hours)
    app.include_router(silences.route_overrides)
    app.include_router(silences.route)
    app.include_router(admin.probes)
    app.include_router(discovery.discoveries)
    app.include_router(discovery.scans)
    app.include_router(discovery.drift)
    _mount_docs(app)
    dashboard.install(app)
    # Inside RequestMiddleware: the body limit applies first and refusals carry the request id.
    app.add_middleware(JsonDepthGuard)
    app.add_middleware(
        RequestMiddleware,
        metrics=ctx.metrics,
        max_body=ctx.settings.max_body_bytes,
        hsts=ctx.settings.tls_enabled,
    )
    return app


def _mount_docs(app: FastAPI) -> None:
    """Serve Swagger UI from the bundled files: no CDN, works offline."""
    app.mount("/docs/static", StaticFiles(directory=swagger_ui_path), name="swagger-static")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=OPENAPI_URL,
            title="certctl API",
            swagger_js_url="/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/docs/static/swagger-ui.css",
            swagger_favicon_url="/docs/static/favicon-32x32.png",
        )
