"""ASGI middleware: request id, body size limit, security headers, request log and metrics."""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from certctl.metrics import Metrics

log = structlog.get_logger("certctl.http")

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_STRICT_CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'"
)


def _problem(request_id: str, path: str, status: int, code: str, title: str, detail: str) -> bytes:
    document = {
        "type": f"urn:certctl:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": path,
        "request_id": request_id,
    }
    return json.dumps(document).encode()


def _has_encoded_nul(scope: Scope) -> bool:
    raw = bytes(scope.get("raw_path") or b"") + b"?" + bytes(scope.get("query_string") or b"")
    return b"%00" in raw.lower() or "\x00" in str(scope.get("path", ""))


def _problem_nul(request_id: str, path: str) -> bytes:
    detail = "the URL must not contain NUL (%00) characters"
    return _problem(request_id, path, 400, "invalid-request", "Invalid request", detail)


def _problem_500(request_id: str, path: str) -> bytes:
    detail = "an unexpected error occurred; the request id identifies it in the server log"
    return _problem(request_id, path, 500, "internal-error", "Internal error", detail)


class RequestMiddleware:
    """Wraps every HTTP request: id, limit, headers, one log line and metrics."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body: int, hsts: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body
        self.hsts = hsts
        # The metric children of each (method, route, status): looking them up through
        # labels() on every request costs more than the increment itself. Routes are
        # templates, so the set stays as small as the API.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        body_hash = hashlib.sha256()
        # The audit trail records the body's hash and the latency (C11).
        scope["state"]["body_hash"] = body_hash
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        scope["state"]["received_at"] = started
        status_holder: dict[str, Any] = {"status": 500}
        headers = self._extra_headers(scope, request_id)

        if _has_encoded_nul(scope):
            await self._send_problem(scope, send, request_id, 400, _problem_nul)
            self._observe(scope, 400, started)
            return
        if self._declared_length(scope) > self.max_body:
            await self._reject(scope, send, request_id)
            self._observe(scope, 413, started)
            return

        received = 0
        too_large = False

        async def limited_receive() -> Message:
            # Frameworks turn exceptions raised here into 400s, so an oversized stream is
            # reported as a disconnect and the answer is replaced by a 413 below.
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_hash.update(message.get("body", b""))
                if received > self.max_body:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def send_with_headers(message: Message) -> None:
            if too_large:
                return
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                message["headers"] = list(message.get("headers", [])) + headers
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except Exception as exc:
            if not too_large:
                log.exception("request.crashed", error=type(exc).__name__)
                status_holder["status"] = 500
                if not status_holder.get("started"):
                    await self._send_problem(scope, send, request_id, 500, _problem_500)
        if too_large:
            status_holder["status"] = 413
            await self._reject(scope, send, request_id)
        self._observe(scope, status_holder["status"], started)

    def _request_id(self, scope: Scope) -> str:
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                candidate = str(value.decode("latin-1"))
                if _SAFE_REQUEST_ID.fullmatch(candidate):
                    return candidate
        return uuid.uuid4().hex

    def _declared_length(self, scope: Scope) -> int:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return 0
        return 0

    def _extra_headers(self, scope: Scope, request_id: str) -> list[tuple[bytes, bytes]]:
        path = str(scope.get("path", ""))
        csp = _DOCS_CSP if path.startswith("/docs") else _STRICT_CSP
        headers = [
            (b"x-request-id", request_id.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"content-security-policy", csp.encode()),
        ]
        if self.hsts:
            headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        return headers

    async def _reject(self, scope: Scope, send: Send, request_id: str) -> None:
        await self._send_problem(scope, send, request_id, 413, self._problem_413)

    def _problem_413(self, request_id: str, path: str) -> bytes:
        return _problem(
            request_id,
            path,
            413,
            "payload-too-large",
            "Payload too large",
            f"the request body exceeds the limit of {self.max_body} bytes",
        )

    async def _send_problem(
        self,
        scope: Scope,
        send: Send,
        request_id: str,
        status: int,
        render: Callable[[str, str], bytes],
    ) -> None:
        body = render(request_id, str(scope.get("path", "")))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    *self._extra_headers(scope, request_id),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _observe(self, scope: Scope, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        route: Any = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "")
        children = self._children.get((method, template, status))
        if children is None:
            children = (
                self.metrics.http_requests.labels(
                    method=method, route=template, status=str(status)
                ),
                self.metrics.http_latency.labels(method=method, route=template),
            )
            self._children[(method, template, status)] = children
        children[0].inc()
        children[1].observe(elapsed)
        log.debug(
            "http.request",
            method=method,
            path=scope.get("path"),
            status=status,
            duration_ms=round(elapsed * 1000, 2),
        )
