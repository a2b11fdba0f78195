"""One HTTP POST for every webhook-style channel: SSRF check, timeout, readable errors (C4)."""

from __future__ import annotations

import json
import time
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Annotated, Any

import httpx
import structlog
from pydantic import AfterValidator, SecretStr

from certctl.connectors.notifiers.transport import HttpAnswer, HttpTransport, TransportFailure
from certctl.connectors.ssrf import check_url_async
from certctl.domain.redaction import redact_text
from certctl.errors import ConnectorError, InvalidRequest

log = structlog.get_logger("certctl.notifications")
JSON_HEADERS = {"Content-Type": "application/json"}
MAX_RESPONSE_BYTES = 64 * 1024
CHECK_TTL = 30.0
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


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.

    An HTTP-date is measured against the response's own `Date` header so no clock is needed.
    `headers` has lower-case names. The value is returned as the channel said it; the outbox
    decides how much of it to honour.
    """
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        delay = parsedate_to_datetime(value) - parsedate_to_datetime(headers["date"])
    except (KeyError, TypeError, ValueError):
        return None
    return max(0.0, delay.total_seconds())


def _succeeded(status: int) -> bool:
    return 200 <= status < 300


@dataclass(frozen=True)
class HttpPoster:
    """POSTs JSON for one channel and maps every failure to ConnectorError."""

    channel: str
    http: HttpTransport
    allow_private: bool
    timeout: float
    secrets: tuple[str, ...] = ()
    _checked: dict[str, float] = field(default_factory=dict, compare=False, repr=False)
    """URL → monotonic time its SSRF check passed; a channel posts to one URL thousands of
    times per tick, and the check (parse, resolve, classify) cost more than the POST."""

    async def post(
        self,
        url: str,
        body: Any,
        headers: Mapping[str, str],
        *,
        expected: Container[int] | None = None,
        field: str = "url",
    ) -> HttpAnswer:
        """Send `body` as canonical JSON. Any 2xx is a success (C4): a proxy or a compatible
        service may answer 200 where the vendor documents 202, and re-sending a delivered
        alert would be worse; a 2xx outside `expected` is logged."""
        await self._check(url, field)
        try:
            answer = await self.http.post(
                url,
                canonical_json(body),
                headers,
                time_limit=self.timeout,
                max_bytes=MAX_RESPONSE_BYTES,
            )
        except TransportFailure as exc:
            raise self._error(exc.reason) from exc
        if not _succeeded(answer.status):
            raise self._answered(answer)
        if expected is not None and answer.status not in expected:
            log.warning(
                "notification.unexpected_status", channel=self.channel, status=answer.status
            )
        return answer

    async def _check(self, url: str, field: str) -> None:
        """The SSRF check, its verdict reused for CHECK_TTL seconds (refusals are not kept).

        The window is no wider than the one between any check and the connection the
        transport then makes, which resolves the name again itself.
        """
        checked = self._checked.get(url)
        if checked is not None and time.monotonic() - checked < CHECK_TTL:
            return
        try:
            await check_url_async(url, allow_private=self.allow_private, field=field)
        except InvalidRequest as exc:
            raise ConnectorError(
                f"{self.channel} target refused: {self._scrub(exc.detail)}",
                connector=self.channel,
                permanent=True,
            ) from exc
        self._checked[url] = time.monotonic()

    def _error(self, reason: str) -> ConnectorError:
        return ConnectorError(
            f"{self.channel} unreachable: {self._scrub(reason)}", connector=self.channel
        )

    def _answered(self, answer: HttpAnswer) -> ConnectorError:
        status = answer.status
        excerpt = self._scrub(answer.text)[:200]
        detail = f"{self.channel} answered {status}" + (f": {excerpt}" if excerpt else "")
        # RFC 9110 §10.2.3: Retry-After accompanies 429 (rate limited) and 503 (unavailable).
        retry_after = retry_after_seconds(answer.headers) if status in {429, 503} else None
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
