"""Sign-in (username and password, or an API key) and sign-out pages."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from certctl.api.dashboard import forms
from certctl.api.dashboard.rendering import DashboardRoute, render
from certctl.api.dashboard.session import (
    LOGIN_CSRF_COOKIE,
    FormDep,
    VisitorDep,
    clear_session_cookie,
    current_visitor,
    safe_next,
    set_login_csrf,
    set_session_cookie,
)
from certctl.api.deps import client_address
from certctl.domain.users import new_token
from certctl.errors import AuthenticationRequired, CertctlError, RateLimited

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)


def _login_page(
    request: Request,
    *,
    next_path: str,
    error: str = "",
    method: str = "password",
    status: int = 200,
) -> Response:
    token = new_token()
    response = render(
        request,
        "login.html",
        status=status,
        title="Sign in",
        next_path=next_path,
        error=error,
        method=method,
        login_csrf=token,
    )
    set_login_csrf(request, response, token)
    return response


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    """The sign-in page (a signed-in visitor goes straight on)."""
    if await current_visitor(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_path=safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the credentials, open a session and set its cookie."""
    form = await request.form()  # its double-submit token was checked by the route class
    next_path = safe_next(forms.text(form, "next"))
    method = "api_key" if forms.text(form, "method") == "api_key" else "password"
    username = forms.text(form, "username")
    try:
        token = await _sign_in(request, form, method, username)
    except RateLimited as exc:
        # Refused before any password hash or key is checked, and without an audit row.
        response = _login_page(
            request, next_path=next_path, error=exc.detail, method=method, status=429
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except AuthenticationRequired as exc:
        return _login_page(
            request, next_path=next_path, error=exc.detail, method=method, status=401
        )
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(request, response, token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


async def _sign_in(request: Request, form: FormData, method: str, username: str) -> str:
    """Apply the address limit and the account back-off around one sign-in attempt (C10)."""
    ctx = request.app.state.ctx
    limiter = ctx.rate_limits
    request_id = getattr(request.state, "request_id", None)
    address = client_address(request)
    # Both checks come before any key or password is looked at; only failures count.
    await limiter.check_address(address)
    if method == "password":
        await limiter.check_account(username)
    try:
        if method == "api_key":
            _, token = await ctx.users.login_key(forms.text(form, "api_key"), request_id=request_id)
        else:
            _, token = await ctx.users.login_password(
                username, str(form.get("password") or ""), request_id=request_id
            )
    except AuthenticationRequired:
        if method == "password":
            await limiter.account_failed(username)
        await limiter.charge_address(address)
        raise
    if method == "password":
        await limiter.account_succeeded(username)
    return str(token)


@router.post("/logout")
async def logout(request: Request, who: VisitorDep, form: FormDep) -> Response:
    """End the session and forget its cookie."""
    # The browser forgets the session either way once the cookie is cleared.
    with contextlib.suppress(CertctlError):
        await request.app.state.ctx.users.logout(who.caller, who.session)
    response = RedirectResponse("/login?flash=signed_out", status_code=303)
    clear_session_cookie(response)
    return response
