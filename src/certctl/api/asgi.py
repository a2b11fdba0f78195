"""ASGI factory for multi-worker serving: each worker builds its own context from the env."""

from __future__ import annotations

from fastapi import FastAPI

from certctl.api.app import create_app
from certctl.api.heap import settle_heap
from certctl.bootstrap import build_context
from certctl.logconfig import configure_logging
from certctl.settings import load_settings


def app_factory() -> FastAPI:
    """Build the app from CERTCTL_* variables (used by `uvicorn --factory` workers)."""
    settings = load_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    app = create_app(build_context(settings))
    settle_heap()
    return app
