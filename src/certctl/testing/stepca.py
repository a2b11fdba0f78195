"""An in-process HTTP server speaking the step-ca endpoints the StepCA issuer uses.

`/health`, `/root/{sha256}`, `/roots`, `/1.0/sign` and `/1.0/revoke` as step-ca documents
them. One-time tokens are checked like a JWK provisioner would: ES256 signature by the
provisioner key, issuer, audience, root fingerprint and lifetime. Every request is recorded.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

from josepy import jwk, jws

from certctl.domain.policies import CertificateProfile
from certctl.pki.ca import create_root
from certctl.pki.facts import first_certificate_der
from certctl.pki.issuance import issue_leaf
from certctl.pki.keys import generate_key
from certctl.testing.receivers import RecordedRequest, ScriptedServer, _Reply


class FakeStepCA(ScriptedServer):
    """step-ca with one JWK provisioner named `provisioner`."""

    def __init__(self, provisioner: str = "ops@example.com") -> None:
        super().__init__()
        self.provisioner = provisioner
        self.key = jwk.JWKEC(key=generate_key("ECDSA-P256"))
        self.tokens: list[dict[str, Any]] = []
        self.revoked: list[dict[str, Any]] = []
        self.ca = create_root(
            "Fake step-ca Root", "ECDSA-P256", now=datetime.now(UTC), validity_days=30
        )
        self.fingerprint = hashlib.sha256(first_certificate_der(self.ca.chain_pem)).hexdigest()

    @property
    def private_jwk(self) -> str:
        """The provisioner's private JWK as JSON (what the issuer is configured with)."""
        return json.dumps(self.key.to_json())

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
