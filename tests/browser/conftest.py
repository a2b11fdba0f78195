"""Browser tests: a live `certctl demo` per module, driven by Debian's Chromium via Playwright.

The demo estate is prepared once per run (dashboard users, `certctl demo`'s seed, then one
expiry scan and one dispatch tick through the admin API, which dead-letter the demo's
refused webhook). Each module then serves its own copy of it with `certctl demo` (scheduler
off, so nothing moves on its own) and drives one browser; each test gets a fresh context. With
`CERTCTL_TEST_BROWSER=required` (the default, and what CI sets) a missing Chromium fails
the tests; `optional` skips them on a machine without it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from certctl.bootstrap import build_context, migrate
from certctl.domain.access import SYSTEM_CALLER, Role
from certctl.settings import Settings
from certctl.testing.postgres import free_port

CHROMIUM = Path(os.environ.get("CERTCTL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CERTCTL = str(Path(sys.executable).parent / "certctl")
PASSWORD = "correct horse battery staple"
# Dashboard users, made before the server starts.
USERS = {"dana": "admin", "olly": "operator", "vera": "viewer"}


@dataclass(frozen=True)
class LiveServer:
    """A running demo server and its admin API key."""

    url: str
    admin_key: str

    def api(self) -> httpx.Client:
        """An API client with the demo admin key."""
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.admin_key}"}, timeout=30
        )


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCTL_")}
    env.update(
        CERTCTL_DATA_DIR=str(data_dir),
        CERTCTL_DATABASE_URL=f"sqlite+aiosqlite:///{data_dir / 'certctl.db'}",
        CERTCTL_SCHEDULER_ENABLED="false",
        CERTCTL_LOG_LEVEL="warning",
    )
    return env


def _create_users(database_url: str) -> None:
    """The dashboard users, made through the user service (the CLI is tested elsewhere)."""

    async def create() -> None:
        settings = Settings(database_url=database_url)
        await migrate(settings)
        ctx = build_context(settings)
        try:
            for name, role in USERS.items():
                await ctx.users.create(
                    SYSTEM_CALLER, username=name, password=PASSWORD, role=Role(role)
                )
        finally:
            await ctx.aclose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, create()).result()


def _start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [CERTCTL, "demo", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(data_dir),
        cwd=data_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError("the demo server exited before it was ready")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # polling the readiness probe, not waiting for time to pass
    raise AssertionError("the demo server was not ready within 60 s")


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo data directory, seeded once per run: users, estate, one scan and dispatch."""
    data_dir = tmp_path_factory.mktemp("demo-template")
    _create_users(_env(data_dir)["CERTCTL_DATABASE_URL"])
    port = free_port()
    proc = _start(data_dir, port)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, proc)
        server = LiveServer(url, (data_dir / "demo-admin.key").read_text().strip())
        with server.api() as api:
            for loop in ("renewal", "notification_dispatch"):
                api.post(f"/api/v1/admin/loops/{loop}/run").raise_for_status()
    finally:
        _stop(proc)
    return data_dir


@pytest.fixture(scope="module")
def live_server(
    demo_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """`certctl demo` on a copy of the template, so each module starts from the same estate."""
    data_dir = tmp_path_factory.mktemp("demo")
    shutil.copytree(demo_template, data_dir, dirs_exist_ok=True)
    port = free_port()
    proc = _start(data_dir, port)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, proc)
        yield LiveServer(url, (data_dir / "demo-admin.key").read_text().strip())
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One headless Chromium per module."""
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CERTCTL_TEST_BROWSER", "required") == "optional":
            pytest.skip(f"{message}; CERTCTL_TEST_BROWSER=optional")
        pytest.fail(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A fresh context (no cookies) at 1280 px; confirm() dialogs are accepted."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    tab.on("dialog", lambda dialog: dialog.accept())
    yield tab
    context.close()


def sign_in_with_key(page: Page, server: LiveServer, key: str) -> None:
    """Use the API-key form of the sign-in page."""
    page.goto(f"{server.url}/login")
    page.fill("#api_key", key)
    page.click("button:text-is('Sign in with key')")
    page.wait_for_url(f"{server.url}/")


def sign_in_as(page: Page, server: LiveServer, username: str) -> None:
    """Use the username and password form of the sign-in page."""
    page.goto(f"{server.url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button:text-is('Sign in')")
    page.wait_for_url(f"{server.url}/")
