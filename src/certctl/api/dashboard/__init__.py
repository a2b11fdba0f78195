"""The server-rendered dashboard (SPEC C9): Jinja2 pages over the same services as the API.

`install(app)` adds the pages at `/`, their static files at `/static` and the template
renderer. Pages sign in with a dashboard user or an API key (see `session`), call the
services with the visitor as the audit actor, and answer errors as HTML pages.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from certctl.api.dashboard import (
    alerts,
    audit,
    auth,
    certificates,
    discovery,
    forecast,
    inventory,
    jobs,
    notifications,
    overview,
    policies,
    silences,
)
from certctl.api.dashboard.rendering import Renderer

STATIC_PATH = "/static"


def install(app: FastAPI) -> None:
    """Mount the dashboard's pages and static files on `app`."""
    app.state.dashboard = Renderer()
    app.mount(
        STATIC_PATH,
        StaticFiles(packages=[("certctl.api.dashboard", "static")]),
        name="dashboard-static",
    )
    for module in (
        auth,
        overview,
        jobs,
        certificates,
        forecast,
        alerts,
        notifications,
        policies,
        inventory,
        audit,
        discovery,
        silences,
    ):
        app.include_router(module.router)
