"""RFC 9457 problem+json responses: one mapping from CertctlError, validation and HTTP errors."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from certctl.api.deps import audit_refusal
from certctl.bootstrap import DATABASE_UNAVAILABLE
from certctl.errors import (
    CertctlError,
    FieldError,
    InvalidRequest,
    PermissionDenied,
    PolicyViolation,
    RateLimited,
)

log = structlog.get_logger("certctl.api")

PROBLEM_JSON = "application/problem+json"
_HTTP_TITLES = {404: "Not found", 405: "Method not allowed", 406: "Not acceptable"}


def problem(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: tuple[FieldError, ...] = (),
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Build one problem+json response carrying the request id."""
    body: dict[str, Any] = {
        "type": f"urn:certctl:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
    }
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
        body["field"] = errors[0].field
    body.update(extra or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def _certctl_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CertctlError)
    extra: dict[str, Any] = {}
    if isinstance(exc, PolicyViolation):
        extra["rule"] = exc.rule
    headers = {"WWW-Authenticate": 'Bearer realm="certctl"'} if exc.status == 401 else None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, PermissionDenied) or exc.status < 500:
        await audit_refusal(request, exc.status, exc.detail)
    if exc.status >= 500:
        log.error("request.failed", error=type(exc).__name__, detail=exc.detail)
    return problem(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        extra=extra,
        headers=headers,
    )


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = exc.errors()
    if any(e.get("type") == "json_invalid" for e in raw):
        errors: tuple[FieldError, ...] = (FieldError("body", "the request body is not valid JSON"),)
    else:
        errors = tuple(
            FieldError(_field_path(tuple(e.get("loc", ()))), str(e.get("msg", "invalid")))
            for e in raw
        )
    err = InvalidRequest.many(errors)
    await audit_refusal(request, 400, err.detail)
    return problem(
        request,
        status=400,
        code=err.code,
        title=err.title,
        detail=err.detail,
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = _HTTP_TITLES.get(exc.status_code, "HTTP error")
    return problem(
        request,
        status=exc.status_code,
        code=title.lower().replace(" ", "-"),
        title=title,
        detail=str(exc.detail),
        headers=dict(exc.headers or {}),
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # One line, not a traceback per request: during a database restart every request fails
    # the same way, and /ready already says why.
    log.warning("database.unavailable", error=type(exc).__name__)
    return problem(
        request,
        status=503,
        code="database-unavailable",
        title="Service unavailable",
        detail="the database is unavailable; retry shortly",
        headers={"Retry-After": "5"},
    )


def install(app: FastAPI) -> None:
    """Register the handlers on `app` (unexpected exceptions are answered by the middleware)."""
    app.add_exception_handler(CertctlError, _certctl_error)
    for error in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error, _database_unavailable)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
