"""Real receivers for notification tests: an HTTP endpoint and an SMTP server on 127.0.0.1:0.

Both are async context managers. `RecordingReceiver` answers webhook-style POSTs and can be
told to fail or hang; `SmtpReceiver` runs aiosmtpd and keeps every message it accepts.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import json
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

LOCALHOST = "127.0.0.1"


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as received; header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = ""
        lines = [f"HTTP/1.1 {self.status} {reason}", f"Content-Length: {len(self.body)}"]
        lines += ["Connection: close", *(f"{k}: {v}" for k, v in self.headers.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


async def _read_request(reader: asyncio.StreamReader) -> RecordedRequest | None:
    """Parse one HTTP/1.1 request with a Content-Length body (None if the client left)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        return None
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, path, _ = request_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in filter(None, header_lines):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return RecordedRequest(method, path, headers, body)


class ScriptedServer:
    """An HTTP server on 127.0.0.1:0 that records each request and answers it by `_answer`.

    Subclasses play one vendor's API (Vault, step-ca) by implementing `_answer`.
    """

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, LOCALHOST, 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        """The server's base URL."""
        assert self._server is not None
        return f"http://{LOCALHOST}:{self._server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await _read_request(reader)
            if request is None:
                return
            self.requests.append(request)
            writer.write(self._answer(request).encode())
            await writer.drain()
        finally:
            writer.close()

    def _answer(self, request: RecordedRequest) -> _Reply:
        raise NotImplementedError


class RecordingReceiver:
    """An HTTP server recording every request; answers 200 `ok` unless told otherwise.

    PagerDuty and OpsGenie succeed only on 202: `RecordingReceiver(status=202)` stands in for them.
    """

    def __init__(
        self, status: int = 200, body: bytes = b"ok", headers: dict[str, str] | None = None
    ) -> None:
        self.requests: list[RecordedRequest] = []
        self._reply = _Reply(status, body, dict(headers or {}))
        self._failures: deque[_Reply] = deque()
        self._hanging = False
        self._delay = 0.0
        self._arrived = asyncio.Condition()
        self._closing = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._handle, LOCALHOST, 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:41234`."""
        if self._server is None:
            raise RuntimeError("the receiver is not running")
        port = self._server.sockets[0].getsockname()[1]
        return f"http://{LOCALHOST}:{port}"

    def respond_with(
        self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> None:
        """Answer every later request this way."""
        self._reply = _Reply(status, body, dict(headers or {}))

    def fail_next(self, n: int, status: int = 503) -> None:
        """Answer the next `n` requests with `status`, then go back to the usual answer."""
        self._failures.extend(_Reply(status, b"unavailable") for _ in range(n))

    async def wait_for(self, count: int) -> None:
        """Return once `count` requests have arrived (bound it with asyncio.timeout)."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self.requests) >= count)

    def respond_after(self, seconds: float) -> None:
        """Wait `seconds` before each answer (a slow but working endpoint)."""
        self._delay = seconds

    def hang(self) -> None:
        """Record requests but never answer them until the receiver closes."""
        self._hanging = True

    async def close(self) -> None:
        """Stop listening and end every open connection."""
        self._closing.set()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._handlers:
            _, pending = await asyncio.wait(self._handlers, timeout=1.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await self._serve(reader, writer)
        except ConnectionError:
            pass  # the client went away; nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            if task is not None:
                self._handlers.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await _read_request(reader)
        if request is None:
            return
        self.requests.append(request)
        async with self._arrived:
            self._arrived.notify_all()
        if self._hanging:
            await self._closing.wait()
            return
        if self._delay:
            await asyncio.sleep(self._delay)
        reply = self._failures.popleft() if self._failures else self._reply
        writer.write(reply.encode())
        await writer.drain()


@dataclass(frozen=True)
class ReceivedMail:
    """One accepted message: the SMTP envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    message: EmailMessage


class _Handler:
    """aiosmtpd handler hooks: keep DATA, or reject it when told to."""

    def __init__(self) -> None:
        self.mails: list[ReceivedMail] = []
        self.rejection: str | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.rejection is not None:
            return self.rejection
        data = envelope.original_content or b""
        parsed = BytesParser(policy=email.policy.default).parsebytes(data)
        assert isinstance(parsed, EmailMessage)
        rcpt = tuple(envelope.rcpt_tos)
        self.mails.append(ReceivedMail(str(envelope.mail_from), rcpt, data, parsed))
        return "250 Message accepted for delivery"


class _PortZeroController(Controller):
    """aiosmtpd's Controller probes `port` once started; with port 0, probe the bound port."""

    def _trigger_server(self) -> None:
        if isinstance(self.server, asyncio.Server):
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1, port chosen by the kernel, optionally requiring a login."""

    def __init__(self, *, login: tuple[str, str] | None = None) -> None:
        self._handler = _Handler()
        self._login = login
        options: dict[str, Any] = {"server_hostname": "smtp.certctl.test"}
        if login is not None:
            # Plain-text AUTH is for tests only; aiosmtpd refuses it without TLS by default.
            options.update(auth_require_tls=False, authenticator=self._authenticate)
        self._controller = _PortZeroController(self._handler, hostname=LOCALHOST, port=0, **options)

    async def __aenter__(self) -> Self:
        await asyncio.to_thread(self._controller.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self._controller.stop)

    @property
    def host(self) -> str:
        """Where the server listens."""
        return LOCALHOST

    @property
    def port(self) -> int:
        """The port the kernel gave the server."""
        return int(self._controller.port)

    @property
    def envelopes(self) -> list[ReceivedMail]:
        """Every message accepted so far, with its SMTP envelope."""
        return self._handler.mails

    @property
    def messages(self) -> list[EmailMessage]:
        """Every message accepted so far, parsed."""
        return [mail.message for mail in self._handler.mails]

    def reject_with(self, reply: str | None) -> None:
        """Answer DATA with this SMTP reply (e.g. "554 5.7.1 Rejected"), or accept again."""
        self._handler.rejection = reply

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        expected = self._login
        ok = (
            expected is not None
            and isinstance(data, LoginPassword)
            and (data.login.decode(), data.password.decode()) == expected
        )
        # handled=False lets aiosmtpd answer 535 itself when the login is wrong.
        return AuthResult(success=ok, handled=False)
