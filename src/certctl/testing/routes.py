"""The API routes of an application, flattened out of its included routers (for route tests).

Tests that must cover every route (permissions, CSRF) enumerate them from the application
itself, so a route added later is covered without editing the test. Every certctl router
carries its full path prefix, so a route's own path is the path it answers on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every APIRoute the application serves, in registration order."""
    return list(_walk(app.router.routes))


def _walk(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
            continue
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _walk(included.routes)
