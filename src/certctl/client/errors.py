"""ClientError: a call to the certctl API failed, with the status and RFC 9457 problem.

The client raises this one exception for every failure, so callers handle exactly one type:
an HTTP error answer (``status`` set, ``problem`` holding the problem+json body when the
server sent one) or no answer at all (``status`` is None: refused, timed out, TLS failure).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

_MAX_DETAIL = 300


class ClientError(Exception):
    """The API refused a call or could not be reached; ``message`` is one line for people."""

    def __init__(
        self,
        *,
        status: int | None,
        title: str,
        detail: str,
        request_id: str | None = None,
        problem: Mapping[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.request_id = request_id
        self.problem: Mapping[str, Any] = problem or {}
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """``Title (HTTP 404): detail`` or, without an answer, the detail alone."""
        if self.status is None:
            return self.detail
        head = f"{self.title} (HTTP {self.status})"
        return f"{head}: {self.detail}" if self.detail else head

    @classmethod
    def from_response(cls, response: httpx.Response) -> ClientError:
        """Read the problem+json body of an error answer (any other body becomes the detail)."""
        body = _json_object(response)
        if body is None:
            return cls(
                status=response.status_code,
                title=response.reason_phrase or "HTTP error",
                detail=_one_line(response.text),
            )
        return cls(
            status=response.status_code,
            title=_one_line(str(body.get("title") or response.reason_phrase or "HTTP error")),
            detail=_one_line(str(body.get("detail") or "")),
            request_id=_optional_str(body.get("request_id")),
            problem=body,
        )

    @classmethod
    def unreachable(
        cls, base_url: str, exc: httpx.TransportError | httpx.InvalidURL
    ) -> ClientError:
        """No answer from the server (connection refused, timeout, TLS failure, bad URL)."""
        reason = _one_line(str(exc)) or type(exc).__name__
        return cls(status=None, title="Unreachable", detail=f"cannot reach {base_url}: {reason}")

    @classmethod
    def not_json(cls, response: httpx.Response) -> ClientError:
        """A success status whose body is not JSON: not a certctl API answer."""
        content_type = response.headers.get("content-type") or "no content type"
        return cls(
            status=response.status_code,
            title="Unexpected answer",
            detail=f"expected JSON from the certctl API, got {content_type}",
        )


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _one_line(text: str) -> str:
    """Collapse whitespace so an error always prints on one line, and bound its length."""
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_DETAIL else flat[: _MAX_DETAIL - 1] + "…"
