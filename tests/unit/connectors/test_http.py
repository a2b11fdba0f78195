"""The shared HTTP delivery of webhook-style channels: bytes, limits, redirects, Retry-After."""

from __future__ import annotations

import httpx
import pytest

from certctl.connectors.notifiers.http import (
    MAX_RESPONSE_BYTES,
    HttpPoster,
    canonical_json,
    retry_after_seconds,
    url_secrets,
)
from certctl.errors import ConnectorError
from certctl.testing.transports import HttpxTransport

from .conftest import Upstream

URL = "http://192.0.2.60/in"


def _poster(http: HttpxTransport, *secrets: str) -> HttpPoster:
    return HttpPoster("Webhook", http, allow_private=True, timeout=3.0, secrets=secrets)


def test_canonical_json_is_sorted_compact_utf8() -> None:
    """Keys sorted, no spaces, non-ASCII kept as UTF-8 so signatures are reproducible."""
    assert canonical_json({"b": [1, {"d": None, "c": "é"}], "a": True}) == (
        '{"a":true,"b":[1,{"c":"é","d":null}]}'.encode()
    )


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "30"}, 30.0),
        ({"Retry-After": " 2.5 "}, 2.5),
        ({"Retry-After": "-4"}, 0.0),
        (
            {
                "Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT",
                "Date": "Wed, 21 Oct 2015 07:28:00 GMT",
            },
            30.0,
        ),
        (
            {
                "Retry-After": "Wed, 21 Oct 2015 07:27:00 GMT",
                "Date": "Wed, 21 Oct 2015 07:28:00 GMT",
            },
            0.0,
        ),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT"}, None),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
    ids=["seconds", "fraction", "negative", "date", "past-date", "date-no-clock", "junk", "absent"],
)
def test_retry_after_reads_seconds_or_http_date(
    headers: dict[str, str], seconds: float | None
) -> None:
    """RFC 9110 delay-seconds, or an HTTP-date measured against the answer's own Date."""
    assert retry_after_seconds({k.lower(): v for k, v in headers.items()}) == seconds


def test_url_secrets_cover_url_and_path() -> None:
    """A secret URL is redacted whole and by its path (servers often echo only the path)."""
    assert url_secrets("https://hooks.example.com/services/T/B/X?x=1") == (
        "https://hooks.example.com/services/T/B/X?x=1",
        "/services/T/B/X?x=1",
    )


async def test_timeout_is_set_on_every_request(http: HttpxTransport, upstream: Upstream) -> None:
    """The channel timeout is the transport's limit for the whole request."""
    await _poster(http).post(URL, {}, {})
    assert upstream.sent.extensions["timeout"] == {
        "connect": 3.0,
        "read": 3.0,
        "write": 3.0,
        "pool": 3.0,
    }


async def test_redirects_are_never_followed(upstream: Upstream) -> None:
    """Even a client that follows redirects does not follow one past the SSRF check."""
    upstream.answer(307, b"", {"Location": "http://169.254.169.254/latest"})
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(upstream), follow_redirects=True
    ) as client:
        with pytest.raises(ConnectorError) as caught:
            await _poster(HttpxTransport(client)).post(URL, {}, {})
    assert (caught.value.detail, len(upstream.requests)) == ("Webhook answered 307", 1)


async def test_success_body_is_read_up_to_a_limit(
    http: httpx.AsyncClient, upstream: Upstream
) -> None:
    """A huge answer is not held in memory beyond MAX_RESPONSE_BYTES."""
    upstream.answer(200, b"a" * (4 * MAX_RESPONSE_BYTES))
    answer = await _poster(http).post(URL, {}, {})
    assert (answer.status, len(answer.text)) == (200, MAX_RESPONSE_BYTES)


async def test_headers_are_sent_as_given(http: httpx.AsyncClient, upstream: Upstream) -> None:
    """Rendered headers reach the wire unchanged."""
    await _poster(http).post(URL, {"k": 1}, {"Content-Type": "application/json", "X-A": "b"})
    sent = upstream.sent
    assert (sent.headers["content-type"], sent.headers["x-a"], sent.content) == (
        "application/json",
        "b",
        b'{"k":1}',
    )


async def test_secrets_are_redacted_from_transport_errors(
    http: httpx.AsyncClient, upstream: Upstream
) -> None:
    """A transport error quoting a secret has it replaced, longest secret first."""
    upstream.error = httpx.ConnectError("cannot reach 192.0.2.60/in?key=abc123")
    with pytest.raises(ConnectorError) as caught:
        await _poster(http, "abc", "key=abc123").post(URL, {}, {})
    assert caught.value.detail == "Webhook unreachable: cannot reach 192.0.2.60/in?[redacted]"


async def test_undecodable_answer_is_replaced_not_raised(
    http: httpx.AsyncClient, upstream: Upstream
) -> None:
    """Bytes that are not UTF-8 become replacement characters in the error text."""
    upstream.answer(502, b"bad \xff gateway")
    with pytest.raises(ConnectorError) as caught:
        await _poster(http).post(URL, {}, {})
    assert caught.value.detail == "Webhook answered 502: bad \ufffd gateway"


@pytest.mark.parametrize(("status", "retry_after"), [(429, 5.0), (503, 5.0), (500, None)])
async def test_retry_after_is_kept_for_429_and_503(
    http: httpx.AsyncClient, upstream: Upstream, status: int, retry_after: float | None
) -> None:
    """Retry-After is honoured where RFC 9110 gives it meaning: rate limits and unavailability."""
    upstream.answer(status, b"", {"Retry-After": "5"})
    with pytest.raises(ConnectorError) as caught:
        await _poster(http).post(URL, {}, {})
    assert caught.value.retry_after == retry_after


async def test_ssrf_verdict_is_reused_for_the_same_url(
    http: HttpxTransport, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three posts to one URL run the SSRF check once; a refusal is never remembered."""
    from certctl.connectors.notifiers import http as http_module

    checks: list[str] = []
    real = http_module.check_url_async

    async def counting(url: str, *, allow_private: bool, field: str = "url") -> str:
        checks.append(url)
        return await real(url, allow_private=allow_private, field=field)

    monkeypatch.setattr(http_module, "check_url_async", counting)
    poster = _poster(http)
    for _ in range(3):
        await poster.post(URL, {}, {})
    refused = "http://169.254.169.254/latest"
    for _ in range(2):
        with pytest.raises(ConnectorError):
            await poster.post(refused, {}, {})
    assert (checks, len(upstream.requests)) == ([URL, refused, refused], 3)


async def test_echoed_secrets_in_an_error_body_are_redacted(
    http: httpx.AsyncClient, upstream: Upstream
) -> None:
    """An error body echoing credentials, secret fields or tokens is redacted before it is kept."""
    upstream.answer(
        400,
        b'{"error": "bad", "password": "hunter2", "callback": "https://bob:pw@hooks.example.com/x",'
        b' "auth": "Bearer abcdefghijklmnop"}',
    )
    with pytest.raises(ConnectorError) as caught:
        await _poster(http).post(URL, {}, {})
    assert caught.value.detail == (
        'Webhook answered 400: {"error": "bad", "password": "[redacted]", '
        '"callback": "https://[redacted]@hooks.example.com/x", "auth": "Bearer [redacted]"}'
    )
