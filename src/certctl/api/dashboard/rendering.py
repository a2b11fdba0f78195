"""Jinja2 rendering of dashboard pages, and the route class that turns errors into pages."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import structlog
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from certctl import __version__
from certctl.api.dashboard.session import Visitor, enforce_csrf, login_url
from certctl.domain.access import Permission
from certctl.domain.audit import AuditStatus
from certctl.errors import AuthenticationRequired, CertctlError

log = structlog.get_logger("certctl.dashboard")

NAV: tuple[tuple[str, str, str, Permission], ...] = (
    ("overview", "Dashboard", "/", Permission.READ),
    ("certificates", "Certificates", "/certificates", Permission.READ),
    ("jobs", "Jobs", "/jobs", Permission.READ),
    ("alerts", "Alerts", "/alerts", Permission.READ),
    ("forecast", "Forecast", "/alerts/forecast", Permission.READ),
    ("notifications", "Notifications", "/notifications", Permission.READ),
    ("silences", "Silences", "/silences", Permission.READ),
    ("policies", "Policies", "/policies", Permission.READ),
    ("teams", "Teams & owners", "/teams", Permission.READ),
    ("issuers", "Issuers", "/issuers", Permission.READ),
    ("targets", "Targets", "/targets", Permission.READ),
    ("agents", "Agents", "/agents", Permission.READ),
    ("discovery", "Discovery", "/discovery", Permission.READ),
    ("audit", "Audit", "/audit", Permission.READ_AUDIT),
    ("settings", "Settings", "/settings/channels", Permission.READ),
)

# Fixed texts shown after a redirect (`?flash=code`): a link cannot make the page say anything.
FLASH = {
    "signed_out": "You are signed out.",
    "revoked": "The certificate is revoked.",
    "renewal_requested": "Renewal requested: a job is queued.",
    "deployment_requested": "Deployment requested: a job per target is queued for its agent.",
    "requeued": "The notification is queued for delivery again.",
    "saved": "Saved.",
    "created": "Created.",
    "deleted": "Deleted.",
    "approved": "The job is approved.",
    "rejected": "The job is rejected.",
    "cancelled": "The job is cancelled.",
    "retired": "The agent is retired.",
    "claimed": "The discovered certificate is now managed.",
    "dismissed": "The discovery is dismissed.",
    "scan_requested": "The network scan is requested; its result appears under Recent scans.",
    "acknowledged": "The alert is acknowledged.",
    "resolved": "The alert is resolved.",
    "expired": "The silence has ended: what it muted goes out at the next dispatch.",
}

_STATUS_CLASSES = {
    "Active": "ok",
    "Completed": "ok",
    "Claimed": "ok",
    "Unmanaged": "warn",
    "sent": "ok",
    "read": "ok",
    "Online": "ok",
    "success": "ok",
    "Expiring": "warn",
    "AwaitingApproval": "warn",
    "AwaitingCSR": "warn",
    "RenewalInProgress": "info",
    "Running": "info",
    "Pending": "info",
    "pending": "info",
    "held": "info",
    "silenced": "warn",
    "Degraded": "warn",
    "failed": "warn",
    "open": "bad",
    "acknowledged": "warn",
    "resolved": "ok",
    "Expired": "bad",
    "Failed": "bad",
    "Revoked": "bad",
    "dead": "bad",
    "failure": "bad",
    "denied": "bad",
    "Offline": "bad",
}


def status_class(value: object) -> str:
    """CSS modifier for a status badge."""
    return _STATUS_CLASSES.get(str(value), "muted")


def when(value: datetime | None) -> str:
    """A timestamp as `YYYY-MM-DD HH:MM UTC`, or an em dash."""
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def day(value: datetime | None) -> str:
    """A date as `YYYY-MM-DD`, or an em dash."""
    return "—" if value is None else value.strftime("%Y-%m-%d")


def relative(now: datetime, value: datetime | None) -> str:
    """`in 12 d`, `today`, `3 d ago` (whole days, rounded towards now)."""
    if value is None:
        return ""
    seconds = (value - now).total_seconds()
    days = int(abs(seconds) // 86400)
    if days == 0:
        return "within a day" if seconds >= 0 else "less than a day ago"
    return f"in {days} d" if seconds >= 0 else f"{days} d ago"


def zip_pairs(values: Iterable[object]) -> list[tuple[str, str]]:
    """Options whose value and text are the same."""
    return [(str(v), str(v)) for v in values]


def query_with(request: Request, **changes: object) -> str:
    """The current path and query string with some parameters replaced (None drops one)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += [(k, str(v)) for k, v in changes.items() if v is not None and v != ""]
    query = urlencode(params)
    return f"{request.url.path}?{query}" if query else request.url.path


def page_count(total: int, per_page: int) -> int:
    """Pages of a listing (an empty one still has page 1)."""
    return max(1, -(-total // per_page))


def past_the_end(request: Request, page: int, total: int, per_page: int) -> Response | None:
    """A redirect to the last page when `page` lies beyond it (a stale link, a typed URL)."""
    last = page_count(total, per_page)
    if page <= last:
        return None
    return RedirectResponse(query_with(request, page=last, flash=None), status_code=303)


class Renderer:
    """The template environment of one application."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("certctl.api.dashboard", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(status_class=status_class, when=when, day=day, zip_pairs=zip_pairs)
        self.env.globals.update(
            relative=relative, query_with=query_with, FLASH=FLASH, VERSION=__version__
        )

    def page(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any],
        *,
        status: int = 200,
    ) -> HTMLResponse:
        """Render `template` with the common context (visitor, navigation, clock, flash)."""
        visitor: Visitor | None = getattr(request.state, "visitor", None)
        values = {
            "request": request,
            "visitor": visitor,
            "nav": _nav(visitor),
            "now": request.app.state.ctx.clock.now(),
            "flash": FLASH.get(request.query_params.get("flash", "")),
            "active": "",
            **context,
        }
        html = self.env.get_template(template).render(values)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _nav(visitor: Visitor | None) -> list[tuple[str, str, str]]:
    if visitor is None:
        return []
    return [(key, label, href) for key, label, href, need in NAV if visitor.can(need)]


def renderer(request: Request) -> Renderer:
    """The application's renderer (installed with the dashboard)."""
    found: Renderer = request.app.state.dashboard
    return found


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render one dashboard page."""
    return renderer(request).page(request, template, context, status=status)


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    """A page explaining a refusal or failure, with the HTTP status it stands for."""
    return render(request, "error.html", status=status, title=title, detail=detail, code=status)


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class DashboardRoute(APIRoute):
    """Checks CSRF on every unsafe request, then answers errors with HTML: sign-in redirect
    for 401, an error page otherwise."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                await enforce_csrf(request)
                return await handler(request)
            except AuthenticationRequired:
                return RedirectResponse(login_url(request), status_code=303)
            except RequestValidationError as exc:
                fields = ", ".join(str(e.get("loc", ("?",))[-1]) for e in exc.errors())
                return error_page(request, 400, "Invalid request", f"check these fields: {fields}")
            except CertctlError as exc:
                if exc.status == 403:
                    await _audit_refusal(request, exc.detail)
                if exc.status >= 500:
                    log.error("dashboard.failed", error=type(exc).__name__, detail=exc.detail)
                return error_page(request, exc.status, exc.title, exc.detail)

        return guarded


async def _audit_refusal(request: Request, detail: str) -> None:
    """Record a refused dashboard write, as the API does for its refused writes."""
    visitor: Visitor | None = getattr(request.state, "visitor", None)
    if visitor is None or request.method != "POST":
        return
    try:
        await request.app.state.ctx.audit.record_refusal(
            visitor.caller,
            action="dashboard_action_denied",
            resource_type="dashboard",
            resource_id=request.url.path[:128],
            status=AuditStatus.DENIED,
            details={"http_status": 403, "detail": detail[:500], "path": request.url.path},
        )
    except Exception as exc:
        log.warning("audit.refusal_not_recorded", error=type(exc).__name__)
