"""An in-process HTTP server speaking the step-ca endpoints the StepCA issuer uses.

`/health`, `/root/{sha256}`, `/roots`, `/1.0/sign` and `/1.0/revoke` as step-ca documents
them. One-time tokens are checked like a JWK provisioner would: ES256 signature by the
provisioner key, issuer, audience, root fingerprint and lifetime. Every request is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from josepy import jwk, jws

from certctl.domain.policies import CertificateProfile
from certctl.pki.ca import create_root
from certctl.pki.facts import first_certificate_der
from certctl.pki.issuance import issue_leaf
from certctl.pki.keys import generate_key
from certctl.testing.receivers import LOCALHOST, RecordedRequest, _read_request, _Reply


class FakeStepCA:
    """step-ca with one JWK provisioner named `provisioner`."""

    def __init__(self, provisioner: str = "ops@example.com") -> None:
        self.provisioner = provisioner
        self.key = jwk.JWKEC(key=generate_key("ECDSA-P256"))
        self.requests: list[RecordedRequest] = []
        self.tokens: list[dict[str, Any]] = []
        self.revoked: list[dict[str, Any]] = []
        self.ca = create_root(
            "Fake step-ca Root", "ECDSA-P256", now=datetime.now(UTC), validity_days=30
        )
        self.fingerprint = hashlib.sha256(first_certificate_der(self.ca.chain_pem)).hexdigest()
        self._server: asyncio.Server | None = None

    @property
    def private_jwk(self) -> str:
        """The provisioner's private JWK as JSON (what the issuer is configured with)."""
        return json.dumps(self.key.to_json())

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
        """The CA's base URL."""
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
        if request.method == "GET" and request.path == "/health":
            return _json(200, {"status": "ok"})
        if request.method == "GET" and request.path == f"/root/{self.fingerprint}":
            return _json(200, {"ca": self.ca.chain_pem})
        if request.method == "GET" and request.path == "/roots":
            return _json(200, {"crts": [self.ca.chain_pem]})
        if request.method == "POST" and request.path in ("/1.0/sign", "/1.0/revoke"):
            body = request.json()
            claims = self._verify(body.get("ott", ""), f"{self.url}{request.path}")
            if claims is None:
                return _json(
                    401,
                    {
                        "status": 401,
                        "message": "The request lacked necessary authorization to be completed.",
                    },
                )
            if request.path == "/1.0/revoke":
                self.revoked.append(body)
                return _json(200, {"status": "ok"})
            return self._sign(body)
        return _json(404, {"status": 404, "message": "not found"})

    def _verify(self, token: str, audience: str) -> dict[str, Any] | None:
        try:
            signed = jws.JWS.from_compact(token.encode())
        except Exception:
            return None
        if not signed.verify(self.key.public_key()):
            return None
        claims: dict[str, Any] = json.loads(signed.payload)
        self.tokens.append(claims)
        now = time.time()
        valid = (
            claims.get("iss") == self.provisioner
            and claims.get("aud") == audience
            and claims.get("sha") == self.fingerprint
            and claims.get("nbf", now + 1) <= now < claims.get("exp", 0)
        )
        return claims if valid else None

    def _sign(self, body: dict[str, Any]) -> _Reply:
        now = datetime.now(UTC)
        profile = CertificateProfile(id="step", name="step", created_at=now, updated_at=now)
        ttl = int(str(body.get("notAfter", "86400s")).removesuffix("s"))
        issued = issue_leaf(self.ca, body["csr"], profile=profile, now=now, ttl_seconds=ttl)
        chain = [issued.pem, self.ca.certificate_pem]
        return _json(200, {"crt": issued.pem, "ca": self.ca.certificate_pem, "certChain": chain})


def _json(status: int, body: Any) -> _Reply:
    return _Reply(status, json.dumps(body).encode(), {"Content-Type": "application/json"})
