"""JSON request bodies: their nesting depth is bounded before any parser or validator walks them.

Python's JSON parser, pydantic's `before` validators and the audit redaction all recurse per
level, so a 2 KB body nested 900 levels deep would otherwise end in a `RecursionError` (a 500
with a traceback the size of the body times a hundred). SPEC C10 asks for a 400 instead.
"""

from __future__ import annotations

import re
from itertools import accumulate

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from certctl.api.problems import problem
from certctl.errors import FieldError, InvalidRequest

MAX_JSON_DEPTH = 32
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A JSON string (RFC 8259 §7): quotes around anything but quote or backslash, or an escape.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Tell whether the JSON text `body` nests arrays and objects more than `limit` levels."""
    # Only an array or object nests; other bytes (a binary body sent without a Content-Type)
    # are left for the route to judge.
    if body.lstrip()[:1] not in (b"[", b"{") or body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b"", body).translate(None, delete=_NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > limit


def _is_json(scope: Scope) -> bool:
    """Bodies the framework parses as JSON: no Content-Type, `*/json` or `*/*+json`."""
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media = value.decode("latin-1").split(";", 1)[0].strip().lower()
            return bool(media.endswith("/json") or media.endswith("+json"))
    return True


class JsonDepthGuard:
    """Reads a JSON request body in full and answers 400 when it nests too deeply."""

    def __init__(self, app: ASGIApp, *, limit: int = MAX_JSON_DEPTH) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        messages = await _read_all(receive)
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        if too_deep(body, self.limit):
            await self._refuse(scope, receive, send)
            return
        pending = list(messages)

        async def replay() -> Message:
            return pending.pop(0) if pending else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = FieldError("body", f"JSON nesting is deeper than {self.limit} levels")
        refused = InvalidRequest.many((error,))
        request = Request(scope, receive)
        response = problem(
            request,
            status=refused.status,
            code=refused.code,
            title=refused.title,
            detail=refused.detail,
            errors=refused.errors,
        )
        await response(scope, receive, send)


async def _read_all(receive: Receive) -> list[Message]:
    """Every message up to the body's end or a disconnect (the outer limit bounds the size)."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages
