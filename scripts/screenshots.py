"""Take PNG screenshots of the dashboard's main pages from a live demo server.

Usage: .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Starts `certctl demo` on a free loopback port in a temporary data directory (the scheduler
off, so the pictures do not depend on timing), runs one expiry scan and one dispatch tick
(dead letters appear), queues a renewal that needs approval, signs in as a dashboard user made with
`certctl user create`, then drives Debian's Chromium
through Playwright at 1280 px, then the on-call pages again at phone size (390 px).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

CHROMIUM = os.environ.get("CERTCTL_CHROMIUM", "/usr/bin/chromium")
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


USER = "dana"
PASSWORD = "correct horse battery staple"  # noqa: S105 - a throwaway demo user


def demo_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCTL_")}
    env.update(
        CERTCTL_DATA_DIR=str(data_dir),
        CERTCTL_DATABASE_URL=f"sqlite+aiosqlite:///{data_dir / 'certctl.db'}",
        CERTCTL_SCHEDULER_ENABLED="false",
        CERTCTL_LOG_LEVEL="warning",
        CERTCTL_PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    return env


def create_user(data_dir: Path, port: int) -> None:
    subprocess.run(  # noqa: S603 - our own certctl executable
        [CERTCTL, "user", "create", USER, "--role", "admin"],
        input=PASSWORD + "\n",
        text=True,
        env=demo_env(data_dir, port),
        cwd=data_dir,
        check=True,
        capture_output=True,
    )


def start_demo(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = demo_env(data_dir, port)
    return subprocess.Popen(  # noqa: S603 - our own certctl executable
        [CERTCTL, "demo", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=data_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the demo server exited early")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the demo server did not become ready within 60 s")


def prepare(api: httpx.Client) -> str:
    """Dead letters, a job awaiting approval and a queued renewal; answer a detail page id."""
    for loop in ("renewal", "notification_dispatch"):
        api.post(f"/api/v1/admin/loops/{loop}/run").raise_for_status()
    listing = api.get("/api/v1/certificates", params={"q": "checkout-prod"}).json()
    checkout = listing["data"][0]["id"]
    api.patch(
        f"/api/v1/certificates/{checkout}",
        json={"issuer_id": "iss-local", "certificate_profile_id": "cp-tls-approved"},
    ).raise_for_status()
    api.post(f"/api/v1/certificates/{checkout}/renew").raise_for_status()
    pay = api.get("/api/v1/certificates", params={"q": "pay-gw-prod"}).json()["data"][0]["id"]
    api.patch(f"/api/v1/certificates/{pay}", json={"issuer_id": "iss-local"}).raise_for_status()
    api.post(f"/api/v1/certificates/{pay}/renew").raise_for_status()
    return str(checkout)


# The chart's first bar: what expires this week, whatever the status.
WEEK = "/certificates?expires_within_days=7&from_day=0"


def sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#username", USER)
    page.fill("#password", PASSWORD)
    page.click("button:text-is('Sign in')")
    page.wait_for_url(f"{url}/")


def shoot(page: Page, url: str, path: str, out: Path, name: str) -> None:
    page.goto(f"{url}{path}")
    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
    print(f"wrote {out / name}.png")  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="certctl-shots-") as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        create_user(Path(tmp), port)
        proc = start_demo(Path(tmp), port)
        try:
            wait_ready(url, proc)
            key = (Path(tmp) / "demo-admin.key").read_text().strip()
            headers = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=url, headers=headers, timeout=30) as api:
                detail = prepare(api)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                shoot(page, url, "/login", out, "login")
                sign_in(page, url)
                shoot(page, url, "/", out, "dashboard")
                shoot(page, url, "/certificates", out, "certificates")
                shoot(page, url, WEEK, out, "certificates-this-week")
                shoot(page, url, f"/certificates/{detail}", out, "certificate-detail")
                shoot(page, url, "/jobs", out, "jobs")
                shoot(page, url, "/notifications?tab=dead", out, "notifications-dead-letter")
                shoot(page, url, "/policies/rp-critical", out, "policy-matrix-editor")
                shoot(page, url, "/settings/channels", out, "settings-channels")
                page.set_viewport_size({"width": 390, "height": 844})
                shoot(page, url, "/", out, "dashboard-phone")
                shoot(page, url, WEEK, out, "certificates-phone")
                shoot(page, url, f"/certificates/{detail}", out, "certificate-detail-phone")
                shoot(page, url, "/notifications?tab=dead", out, "notifications-phone")
                shoot(page, url, "/policies/rp-critical", out, "policy-matrix-editor-phone")
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
