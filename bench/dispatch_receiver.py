"""The webhook receiver of bench/dispatch.py: a minimal keep-alive HTTP/1.1 server counting ids."""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import resource
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import harness

RECEIVER_TIMEOUT_S = 30.0


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
OK_CLOSE = OK.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1: answers 200 `ok` after `latency_s`, counts ids."""

    latency_s: float
    keep_alive: bool
    requests: int = 0
    ids: Counter[str] = field(default_factory=Counter)
    unparsable: int = 0
    connections: int = 0
    server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.server.wait_closed(), 2.0)

    def reset(self) -> None:
        self.requests, self.unparsable, self.connections = 0, 0, 0
        self.ids.clear()

    def stats(self) -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "requests": self.requests,
            "distinct_ids": len(self.ids),
            "duplicates": sum(n - 1 for n in self.ids.values() if n > 1),
            "unparsable": self.unparsable,
            "connections": self.connections,
            "cpu_s": usage.ru_utime + usage.ru_stime,
        }

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:  # one request per turn; ends when the client closes the connection
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                self.requests += 1
                try:
                    self.ids[str(json.loads(body)["id"])] += 1
                except (ValueError, KeyError, TypeError):
                    self.unparsable += 1
                if self.latency_s:
                    await asyncio.sleep(self.latency_s)
                writer.write(OK if self.keep_alive else OK_CLOSE)
                await writer.drain()
                if not self.keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()


def event_loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    return harness.loop_factory() if name == "uvloop" else None


def receiver_process(latency_s: float, keep_alive: bool, loop: str, conn: Any) -> None:
    """Entry point of the receiver process: serves until told to stop or the parent leaves."""

    async def main() -> None:
        receiver = Receiver(latency_s, keep_alive)
        conn.send(("port", await receiver.start()))
        try:
            while True:
                try:
                    command = await asyncio.to_thread(conn.recv)
                except EOFError:
                    return
                if command == "stats":
                    conn.send(("stats", receiver.stats()))
                elif command == "reset":
                    receiver.reset()
                    conn.send(("reset", None))
                else:
                    return
        finally:
            await receiver.stop()

    with asyncio.Runner(loop_factory=event_loop_factory(loop)) as runner:
        runner.run(main())


class ReceiverHandle:
    """The receiver, in its own process or on the caller's event loop."""

    def __init__(self, latency_s: float, keep_alive: bool, mode: str, loop: str) -> None:
        self.latency_s, self.keep_alive, self.mode, self.loop = latency_s, keep_alive, mode, loop
        self.proc: Any = None
        self.conn: Any = None
        self.local: Receiver | None = None
        self.port = 0

    async def start(self) -> str:
        if self.mode == "inprocess":
            self.local = Receiver(self.latency_s, self.keep_alive)
            self.port = await self.local.start()
        else:
            mp = multiprocessing.get_context("spawn")
            self.conn, child = mp.Pipe()
            self.proc = mp.Process(
                target=receiver_process,
                args=(self.latency_s, self.keep_alive, self.loop, child),
                daemon=True,
            )
            self.proc.start()
            self.port = self._ask(None, "port")
        return f"http://127.0.0.1:{self.port}/hook"

    def _ask(self, command: str | None, expect: str) -> Any:
        if command is not None:
            self.conn.send(command)
        if not self.conn.poll(RECEIVER_TIMEOUT_S):
            raise RuntimeError("the receiver process did not answer")
        kind, payload = self.conn.recv()
        if kind != expect:
            raise RuntimeError(f"the receiver answered {kind!r} to {command!r}")
        return payload

    def stats(self) -> dict[str, Any]:
        if self.local is not None:
            stats = self.local.stats()
            stats["cpu_s"] = None  # shares the dispatcher's process: not separable
            return stats
        return self._ask("stats", "stats")

    def reset(self) -> None:
        if self.local is not None:
            self.local.reset()
        else:
            self._ask("reset", "reset")

    async def stop(self) -> None:
        if self.local is not None:
            await self.local.stop()
            return
        if self.proc is None:
            return
        with contextlib.suppress(OSError, ValueError):
            self.conn.send("stop")
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.proc = None
