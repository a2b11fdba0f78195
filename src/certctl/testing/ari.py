"""An in-process ACME front that serves RFC 9773 renewal information and records new orders.

Debian's pebble 2.4 has no ARI. This server publishes a directory with `renewalInfo`,
answers `GET /renewal-info/{certID}` with the window a test sets (or the status it sets),
hands out nonces, registers accounts and records every newOrder payload (the JWS payload,
decoded) before refusing the order, so a test can read the `replaces` a renewal sent.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime
from typing import Any

from certctl.testing.receivers import RecordedRequest, ScriptedServer, _Reply

ORDER_REFUSAL = "urn:ietf:params:acme:error:unauthorized"


class RenewalInfoCA(ScriptedServer):
    """ACME directory + renewalInfo + newOrder recorder on 127.0.0.1:0."""

    def __init__(self) -> None:
        super().__init__()
        self.window: tuple[datetime, datetime] | None = None
        self.explanation_url: str | None = None
        self.retry_after: str | None = None
        self.status = 200
        self.advertise = True
        """Whether the directory lists renewalInfo (False: a CA without ARI)."""
        self.orders: list[dict[str, Any]] = []

    def renewal_info_requests(self) -> list[str]:
        """The certIDs asked for, in order."""
        prefix = "/renewal-info/"
        return [r.path[len(prefix) :] for r in self.requests if r.path.startswith(prefix)]

    def _answer(self, request: RecordedRequest) -> _Reply:
        path = request.path
        if path == "/dir":
            return _json(200, self._directory())
        if path.startswith("/renewal-info/"):
            return self._renewal_info()
        if path == "/nonce":
            return _Reply(200, b"", self._nonce())
        if path == "/account":
            body = {"status": "valid", "contact": [], "orders": f"{self.url}/orders"}
            return _json(201, body, Location=f"{self.url}/account/1")
        if path == "/order":
            self.orders.append(_payload(request))
            problem = {"type": ORDER_REFUSAL, "detail": "order recorded, not issued"}
            return _json(403, problem, content_type="application/problem+json")
        return _json(404, {"type": "about:blank"}, content_type="application/problem+json")

    def _directory(self) -> dict[str, Any]:
        base = self.url
        return {
            "newNonce": f"{base}/nonce",
            "newAccount": f"{base}/account",
            "newOrder": f"{base}/order",
            "revokeCert": f"{base}/revoke",
            "keyChange": f"{base}/key-change",
            "meta": {"termsOfService": f"{base}/terms"},
            **({"renewalInfo": f"{base}/renewal-info"} if self.advertise else {}),
        }

    def _renewal_info(self) -> _Reply:
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        if self.status != 200 or self.window is None:
            body = {"type": "urn:ietf:params:acme:error:serverInternal", "detail": "scripted"}
            return _json(self.status, body, content_type="application/problem+json", **headers)
        start, end = self.window
        document: dict[str, Any] = {
            "suggestedWindow": {"start": _rfc3339(start), "end": _rfc3339(end)}
        }
        if self.explanation_url:
            document["explanationURL"] = self.explanation_url
        return _json(200, document, **headers)

    def _nonce(self) -> dict[str, str]:
        return {"Replay-Nonce": secrets.token_urlsafe(16), "Cache-Control": "no-store"}


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _payload(request: RecordedRequest) -> dict[str, Any]:
    """The JWS payload of an ACME POST, decoded (RFC 8555 section 6.2)."""
    encoded = str(request.json()["payload"])
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    )
    return decoded


def _json(
    status: int, body: Any, *, content_type: str = "application/json", **headers: str
) -> _Reply:
    fresh = {"Replay-Nonce": secrets.token_urlsafe(16), "Content-Type": content_type}
    return _Reply(status, json.dumps(body).encode(), {**fresh, **headers})
