"""Dashboard sign-in state: the session cookie, the signed-in visitor, CSRF-checked forms.

The session cookie holds a 256-bit random token; the server keeps its SHA-256 with the
principal and the session's CSRF token, so the cookie cannot be forged or extended. Every
form carries the CSRF token, and `enforce_csrf` checks every unsafe request of every dashboard
route once, in the dashboard's route class, before any handler or dependency runs (the
sign-in form, which comes before any session, uses a double-submit cookie instead).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

import structlog
from fastapi import Depends, Request, Response
from starlette.datastructures import FormData

from certctl.domain.access import Caller, Permission, Principal
from certctl.domain.users import SESSION_LIFETIME, DashboardSession
from certctl.errors import AuthenticationRequired, PermissionDenied

SESSION_COOKIE = "certctl_session"
LOGIN_PATH = "/login"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_CSRF_COOKIE = "certctl_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_REFUSED = "the form's CSRF token is missing or wrong; reload the page and try again"


@dataclass(frozen=True)
class Visitor:
    """The signed-in person or key behind a request."""

    session: DashboardSession
    principal: Principal
    caller: Caller

    @property
    def csrf_token(self) -> str:
        """The token every form of this session must send back."""
        return self.session.csrf_token

    def can(self, permission: Permission) -> bool:
        """Whether the visitor's role grants `permission` (to show or hide controls)."""
        return self.principal.can(permission)


def _secure(request: Request) -> bool:
    settings = request.app.state.ctx.settings
    return bool(settings.tls_enabled or (settings.public_url or "").startswith("https://"))


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """Hand the browser its session token: HttpOnly, SameSite=Lax, Secure under TLS."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def clear_session_cookie(response: Response) -> None:
    """Make the browser forget its session token."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


def set_login_csrf(request: Request, response: Response, token: str) -> None:
    """Set the sign-in form's double-submit token as a strict cookie."""
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def check_login_csrf(request: Request, form: FormData) -> None:
    """Refuse a sign-in POST whose token does not match its cookie."""
    sent = str(form.get(CSRF_FIELD) or "")
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise PermissionDenied(CSRF_REFUSED)


def safe_next(value: str | None) -> str:
    """A local path to return to after sign-in; anything else (other hosts) becomes `/`."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def login_url(request: Request) -> str:
    """The sign-in page, returning to the current page for reads."""
    if request.method != "GET" or request.url.path in ("/", "/login"):
        return "/login"
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(target, safe='')}"


async def current_visitor(request: Request) -> Visitor | None:
    """The visitor of the request's session cookie, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    found = await request.app.state.ctx.users.resolve(token)
    if found is None:
        return None
    session, principal = found
    caller = Caller(
        principal=principal,
        request_id=getattr(request.state, "request_id", None),
        # The form may not be read yet, so dashboard rows carry the latency but no body hash.
        received_at=getattr(request.state, "received_at", None),
    )
    visitor = Visitor(session=session, principal=principal, caller=caller)
    request.state.visitor = visitor
    structlog.contextvars.bind_contextvars(actor=principal.name)
    return visitor


async def visitor(request: Request) -> Visitor:
    """The signed-in visitor; without a live session the route class redirects to sign-in."""
    found: Visitor | None = getattr(request.state, "visitor", None)
    if found is None:
        found = await current_visitor(request)
    if found is None:
        raise AuthenticationRequired("sign in to use the dashboard")
    return found


async def enforce_csrf(request: Request) -> None:
    """Refuse an unsafe request whose form lacks the session's CSRF token (or, for sign-in,
    the double-submit cookie's); safe methods pass. Called once per request by the route
    class, so a new route is covered without opting in."""
    if request.method not in UNSAFE_METHODS:
        return
    form = await request.form()
    if request.url.path == LOGIN_PATH:
        check_login_csrf(request, form)
        return
    who = await visitor(request)
    sent = str(form.get(CSRF_FIELD) or "")
    if not sent or not hmac.compare_digest(sent, who.csrf_token):
        raise PermissionDenied(CSRF_REFUSED)


async def checked_form(request: Request, who: Annotated[Visitor, Depends(visitor)]) -> FormData:
    """The POSTed form of a signed-in visitor (its CSRF token was checked by the route class)."""
    return await request.form()


async def write_form(
    form: Annotated[FormData, Depends(checked_form)], who: Annotated[Visitor, Depends(visitor)]
) -> FormData:
    """A checked form from a visitor whose role may write (viewers get the 403 page)."""
    who.principal.require(Permission.WRITE)
    return form


VisitorDep = Annotated[Visitor, Depends(visitor)]
FormDep = Annotated[FormData, Depends(checked_form)]
WriteFormDep = Annotated[FormData, Depends(write_form)]
