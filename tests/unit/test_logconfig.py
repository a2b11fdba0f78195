"""Log lines never carry a URL's credentials (SPEC C10)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from certctl.logconfig import configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the previous logging configuration back after the test."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**saved)
    root.handlers, root.level = handlers, level


def test_url_credentials_are_masked_in_structlog_and_stdlib_lines(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Event values and stdlib messages show `scheme://[REDACTED]@host`, never the password."""
    configure_logging(level="debug", fmt="json")
    structlog.get_logger("t").info("delivery.failed", url="https://bob:pw@hooks.example.com/x")
    logging.getLogger("t").warning("GET %s failed", "https://bob:pw@hooks.example.com/y")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0]["url"] == "https://[REDACTED]@hooks.example.com/x"
    assert lines[1]["event"] == "GET https://[REDACTED]@hooks.example.com/y failed"
