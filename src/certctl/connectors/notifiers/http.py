"""One HTTP POST for every webhook-style channel: SSRF check, timeout, readable errors (C4)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Container, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Annotated, Any

import httpx
from pydantic import AfterValidator, SecretStr

from certctl.connectors.ssrf import check_url_async
from certctl.domain.redaction import redact_text
from certctl.errors import ConnectorError, InvalidRequest

JSON_HEADERS = {"Content-Type": "application/json"}
MAX_RESPONSE_BYTES = 64 * 1024
_REDACTED = "[redacted]"


def canonical_json(body: Any) -> bytes:
    """The exact bytes sent (and signed): sorted keys, no whitespace, UTF-8."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _check_http_url(value: str) -> str:
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise ValueError("not a valid URL") from exc
    if url.scheme not in {"http", "https"} or not url.host:
        raise ValueError("must be an http or https URL with a host")
    return value


def _check_secret_url(value: SecretStr) -> SecretStr:
    _check_http_url(value.get_secret_value())
    return value


HttpUrl = Annotated[str, AfterValidator(_check_http_url)]
"""A config URL kept as written (pydantic's HttpUrl would normalise it)."""
SecretHttpUrl = Annotated[SecretStr, AfterValidator(_check_secret_url)]
"""A URL that is itself a credential (Slack and Teams webhook URLs)."""


def url_secrets(url: str) -> tuple[str, ...]:
    """The parts of a secret URL to keep out of error text: the URL and its path."""
    path = httpx.URL(url).raw_path.decode("ascii", "replace")
    return (url, path) if len(path) > 1 else (url,)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Seconds to wait from `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.

    An HTTP-date is measured against the response's own `Date` header so no clock is needed.
    """
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        delay = parsedate_to_datetime(value) - parsedate_to_datetime(response.headers["date"])
    except (KeyError, TypeError, ValueError):
        return None
    return max(0.0, delay.total_seconds())


def _succeeded(status: int, ok: Container[int] | None) -> bool:
    return status in ok if ok is not None else 200 <= status < 300


@dataclass(frozen=True)
class Answer:
    """A successful response, its body capped at MAX_RESPONSE_BYTES."""

    status: int
    text: str

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None


@dataclass(frozen=True)
class HttpPoster:
    """POSTs JSON for one channel and maps every failure to ConnectorError."""

    channel: str
    http: httpx.AsyncClient
    allow_private: bool
    timeout: float
    secrets: tuple[str, ...] = ()

    async def post(
        self,
        url: str,
        body: Any,
        headers: Mapping[str, str],
        *,
        ok: Container[int] | None = None,
        field: str = "url",
    ) -> Answer:
        """Send `body` as canonical JSON; `ok` lists success codes (None: any 2xx)."""
        try:
            await check_url_async(url, allow_private=self.allow_private, field=field)
        except InvalidRequest as exc:
            raise ConnectorError(
                f"{self.channel} target refused: {self._scrub(exc.detail)}",
                connector=self.channel,
                permanent=True,
            ) from exc
        try:
            async with asyncio.timeout(self.timeout):
                response, text = await self._send(url, canonical_json(body), headers)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise self._error(f"timed out after {self.timeout:g}s") from exc
        except httpx.HTTPError as exc:
            raise self._error(str(exc) or type(exc).__name__) from exc
        if not _succeeded(response.status_code, ok):
            raise self._answered(response, text)
        return Answer(response.status_code, text)

    async def _send(
        self, url: str, content: bytes, headers: Mapping[str, str]
    ) -> tuple[httpx.Response, str]:
        # Redirects are not followed: a redirect target never passed the SSRF check.
        request = self.http.build_request(
            "POST", url, content=content, headers=dict(headers), timeout=self.timeout
        )
        response = await self.http.send(request, stream=True, follow_redirects=False)
        try:
            raw = bytearray()
            async for chunk in response.aiter_bytes():
                raw += chunk
                if len(raw) >= MAX_RESPONSE_BYTES:
                    break
        finally:
            await response.aclose()
        text = bytes(raw[:MAX_RESPONSE_BYTES]).decode(response.encoding or "utf-8", "replace")
        return response, text

    def _error(self, reason: str) -> ConnectorError:
        return ConnectorError(
            f"{self.channel} unreachable: {self._scrub(reason)}", connector=self.channel
        )

    def _answered(self, response: httpx.Response, text: str) -> ConnectorError:
        status = response.status_code
        excerpt = self._scrub(text)[:200]
        detail = f"{self.channel} answered {status}" + (f": {excerpt}" if excerpt else "")
        # RFC 9110 §10.2.3: Retry-After accompanies 429 (rate limited) and 503 (unavailable).
        retry_after = retry_after_seconds(response) if status in {429, 503} else None
        # A 4xx other than 408/429 means the request itself is wrong (bad routing key,
        # removed webhook): retrying the same bytes cannot succeed.
        permanent = 400 <= status < 500 and status not in {408, 429}
        return ConnectorError(
            detail, connector=self.channel, retry_after=retry_after, permanent=permanent
        )

    def _scrub(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, _REDACTED)
        # What a remote endpoint echoes may hold secrets this channel does not know of.
        return redact_text(text, _REDACTED)
