"""Anchors of bench/dispatch.py: the same POSTs over bare asyncio streams and the app transport."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from dispatch_outbox import sample_context
from dispatch_receiver import ReceiverHandle


def anchor_body() -> bytes:
    """An event of the size the Webhook notifier sends."""
    context, *_ = sample_context(0, datetime.now(UTC))
    return json.dumps(
        {"id": "anchor", "certificate": context, "type": "certificate.expiring"}
    ).encode()


async def transport_anchor(webhook: str, count: int, concurrency: int, settings: Any) -> dict:
    """N POSTs through the delivery transport built exactly as certctl.bootstrap builds it."""
    from certctl import __version__
    from certctl.connectors.notifiers.transport import AiohttpTransport, TransportFailure

    body = anchor_body()
    transport = AiohttpTransport(
        pool_size=max(100, settings.notification_concurrency),
        user_agent=f"certctl/{__version__}",
    )
    gate = asyncio.Semaphore(concurrency)
    codes: Counter[str] = Counter()

    async def one() -> None:
        async with gate:
            try:
                answer = await transport.post(
                    webhook,
                    body,
                    {"Content-Type": "application/json"},
                    time_limit=settings.notification_timeout_seconds,
                    max_bytes=64 * 1024,
                )
                codes[str(answer.status)] += 1
            except TransportFailure as exc:
                codes[exc.reason[:40]] += 1

    try:
        cpu0, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
    finally:
        await transport.aclose()
    return {"seconds": elapsed, "ok": codes.get("200", 0), "codes": dict(codes), "cpu_s": cpu}


async def raw_anchor(webhook: str, count: int, concurrency: int) -> dict:
    """N POSTs over `concurrency` keep-alive connections on bare asyncio streams.

    The machine's floor for this traffic: no client library, one request after the other on
    each connection (reconnecting when the receiver says `Connection: close`).
    """
    url = webhook.removeprefix("http://")
    hostport, _, path = url.partition("/")
    host, _, port = hostport.partition(":")
    body = anchor_body()
    head = (
        f"POST /{path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    codes: Counter[str] = Counter()

    async def worker(share: int) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for _ in range(share):
                writer.write(head + body)
                lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
                headers = dict(line.lower().split(b":", 1) for line in lines[1:] if b":" in line)
                await reader.readexactly(int(headers.get(b"content-length", b"0")))
                codes[lines[0].split(b" ", 2)[1].decode()] += 1
                if headers.get(b"connection", b"").strip() == b"close":
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, int(port))
        finally:
            writer.close()

    shares = [count // concurrency + (i < count % concurrency) for i in range(concurrency)]
    cpu0, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(n) for n in shares if n))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
    return {"seconds": elapsed, "ok": codes.get("200", 0), "codes": dict(codes), "cpu_s": cpu}


async def anchors(
    webhook: str, receiver: ReceiverHandle, settings: Any, args: argparse.Namespace
) -> dict[str, Any]:
    count = min(args.anchor_requests, args.deliveries)
    out = {}
    for name in ("raw", "transport"):
        if name == "raw":
            a = await raw_anchor(webhook, count, args.concurrency)
        else:
            a = await transport_anchor(webhook, count, args.concurrency, settings)
        out[name] = {
            "requests": count,
            "seconds": round(a["seconds"], 3),
            "per_s": round(a["ok"] / a["seconds"], 1),
            "ok": a["ok"],
            "codes": a["codes"],
            "client_cpu_ms_per_request": round(1000 * a["cpu_s"] / max(a["ok"], 1), 3),
        }
        receiver.reset()
    return out
