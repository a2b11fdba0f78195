"""The aiohttp delivery transport against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from certctl.connectors.notifiers.transport import AiohttpTransport, TransportFailure
from certctl.testing.postgres import free_port
from certctl.testing.receivers import RecordingReceiver


@pytest.fixture
async def transport() -> AsyncIterator[AiohttpTransport]:
    """A transport with a small pool, closed after the test."""
    transport = AiohttpTransport(pool_size=4, user_agent="certctl/test")
    yield transport
    await transport.aclose()


async def test_post_sends_the_bytes_and_headers_and_returns_the_answer(
    transport: AiohttpTransport,
) -> None:
    """Body bytes and headers reach the server as given; status, headers and body come back."""
    async with RecordingReceiver() as rx:
        rx.respond_with(202, b'{"status":"success"}', {"X-Request-Id": "r-1"})
        answer = await transport.post(
            f"{rx.url}/v2/enqueue",
            b'{"a":1}',
            {"Content-Type": "application/json", "X-Sig": "sha256=00"},
            time_limit=5,
            max_bytes=1024,
        )
    [request] = rx.requests
    assert (request.method, request.path, request.body) == ("POST", "/v2/enqueue", b'{"a":1}')
    assert (request.headers["content-type"], request.headers["x-sig"]) == (
        "application/json",
        "sha256=00",
    )
    assert request.headers["user-agent"] == "certctl/test"
    assert (answer.status, answer.headers["x-request-id"], answer.json()) == (
        202,
        "r-1",
        {"status": "success"},
    )


async def test_a_redirect_is_an_answer_never_followed(transport: AiohttpTransport) -> None:
    """A 307 comes back as the answer; its Location (never SSRF-checked) is not requested."""
    async with RecordingReceiver() as target, RecordingReceiver() as rx:
        rx.respond_with(307, b"", {"Location": f"{target.url}/elsewhere"})
        answer = await transport.post(rx.url, b"{}", {}, time_limit=5, max_bytes=1024)
    assert (answer.status, len(rx.requests), len(target.requests)) == (307, 1, 0)


async def test_a_large_body_is_read_only_up_to_the_limit(transport: AiohttpTransport) -> None:
    """An endless-looking answer is cut at max_bytes."""
    async with RecordingReceiver() as rx:
        rx.respond_with(200, b"a" * 200_000)
        answer = await transport.post(rx.url, b"{}", {}, time_limit=5, max_bytes=64 * 1024)
    assert answer.body == b"a" * (64 * 1024)


async def test_a_server_that_never_answers_times_out(transport: AiohttpTransport) -> None:
    """No answer within the limit is a TransportFailure saying so."""
    async with RecordingReceiver() as rx:
        rx.hang()
        with pytest.raises(TransportFailure) as caught:
            await transport.post(rx.url, b"{}", {}, time_limit=0.2, max_bytes=1024)
    assert (caught.value.reason, caught.value.timed_out) == ("timed out after 0.2s", True)


async def test_a_refused_connection_is_a_transport_failure(transport: AiohttpTransport) -> None:
    """Nothing listening: a TransportFailure naming the connection error, not a timeout."""
    url = f"http://127.0.0.1:{free_port()}/in"
    with pytest.raises(TransportFailure) as caught:
        await transport.post(url, b"{}", {}, time_limit=5, max_bytes=1024)
    assert caught.value.timed_out is False
    assert "Cannot connect to host 127.0.0.1" in caught.value.reason


async def test_connections_are_reused_across_posts(transport: AiohttpTransport) -> None:
    """Sequential posts to one keep-alive server share a connection."""
    connections = 0
    requests = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections, requests
        connections += 1
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            requests += 1
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        for _ in range(5):
            await transport.post(f"http://127.0.0.1:{port}/", b"{}", {}, time_limit=5, max_bytes=64)
        await transport.aclose()
    assert (requests, connections) == (5, 1)
