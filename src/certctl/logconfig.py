"""structlog configuration: JSON lines in production, console in development."""

from __future__ import annotations

import logging
import sys

import structlog
from structlog.typing import EventDict, WrappedLogger

from certctl.domain.redaction import mask_url_credentials

REDACTED = "[REDACTED]"


def redact_url_credentials(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    """Mask the user part of any URL in a log line's text values (C10: never log secrets)."""
    return {
        key: mask_url_credentials(value, REDACTED) if isinstance(value, str) else value
        for key, value in event.items()
    }


def configure_logging(*, level: str = "info", fmt: str = "json") -> None:
    """Route structlog and stdlib logging to stderr with the request id on every line."""
    numeric = logging.getLevelNamesMapping()[level.upper()]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            redact_url_credentials,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact_url_credentials,
                renderer,
            ],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(numeric)
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request URL at INFO; webhook URLs are credentials (Slack, Teams).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
