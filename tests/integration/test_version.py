"""One version string: package metadata, `certctl --version`, /health and the dashboard footer."""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from certctl import __version__
from certctl.cli.main import app

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


@pytest.fixture
def backend() -> str:
    """The version does not depend on the database: one backend is enough."""
    return "sqlite"


def test_version_comes_from_package_metadata() -> None:
    """`certctl.__version__` is the installed metadata's, which is pyproject's."""
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["version"]
    assert __version__ == version("certctl") == declared


def test_changelog_names_the_current_version() -> None:
    """CHANGELOG.md has a section for the version the package reports."""
    changelog = (PYPROJECT.parent / "CHANGELOG.md").read_text()
    assert f"\n## [{__version__}] - " in changelog


async def test_version_flag_prints_the_version() -> None:
    """`certctl --version` prints the version alone and exits 0."""
    result = await asyncio.to_thread(CliRunner().invoke, app, ["--version"])
    assert (result.exit_code, result.stdout) == (0, f"{__version__}\n")


async def test_health_reports_the_version(api: httpx.AsyncClient) -> None:
    """/health answers the serving version."""
    response = await api.get("/health")
    assert response.json() == {"status": "ok", "detail": "", "version": __version__}


async def test_dashboard_footer_shows_the_version(
    make_client: Callable[[str | None], httpx.AsyncClient],
) -> None:
    """The sign-in page, like every dashboard page, ends with `certctl <version>`."""
    browser = make_client(None)
    page = await browser.get("/login")
    assert page.status_code == 200
    assert f'<footer class="site-footer" data-testid="version">certctl {__version__}</footer>' in (
        page.text
    )
