"""An in-process HTTP server speaking the Vault endpoints the Vault PKI issuer uses.

Paths and bodies follow Vault's HTTP API documentation (`/v1/auth/approle/login`,
`/v1/auth/token/lookup-self`, `/v1/auth/token/renew-self`, `/v1/{mount}/roles/{role}`,
`/v1/{mount}/sign/{role}`, `/v1/{mount}/revoke`, `/v1/{mount}/ca_chain`). It signs with a
throwaway local CA and records every request so tests can assert what was sent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from certctl.domain.policies import CertificateProfile
from certctl.pki.ca import create_root
from certctl.pki.issuance import issue_leaf
from certctl.testing.receivers import RecordedRequest, ScriptedServer, _Reply


class FakeVault(ScriptedServer):
    """Vault with one PKI mount and role, token and AppRole auth."""

    def __init__(
        self,
        *,
        token: str = "s.root-token",  # noqa: S107 - a fake server's fixed token
        mount: str = "pki_int",
        role: str = "web",
        approle: tuple[str, str] = ("role-id-1", "secret-id-1"),
        token_ttl: int = 86400,
    ) -> None:
        super().__init__()
        self.tokens = {token: token_ttl}
        self.mount, self.role, self.approle = mount, role, approle
        self.revoked: list[str] = []
        now = datetime.now(UTC)
        self.ca = create_root("Fake Vault Intermediate", "ECDSA-P256", now=now, validity_days=30)

    def _answer(self, request: RecordedRequest) -> _Reply:
        path = request.path.split("?")[0]
        if path == "/v1/auth/approle/login":
            return self._login(request)
        token = request.headers.get("x-vault-token", "")
        if token not in self.tokens:
            return _json(403, {"errors": ["permission denied"]})
        routes = {
            ("GET", "/v1/auth/token/lookup-self"): lambda: _json(
                200, {"data": {"ttl": self.tokens[token], "renewable": True}}
            ),
            ("POST", "/v1/auth/token/renew-self"): lambda: self._renew(token),
            ("GET", f"/v1/{self.mount}/roles/{self.role}"): lambda: _json(
                200, {"data": {"allow_any_name": True}}
            ),
            ("POST", f"/v1/{self.mount}/sign/{self.role}"): lambda: self._sign(request),
            ("POST", f"/v1/{self.mount}/revoke"): lambda: self._revoke(request),
            ("GET", f"/v1/{self.mount}/ca_chain"): lambda: _Reply(
                200,
                self.ca.chain_pem.encode(),
                {"Content-Type": "application/pem-certificate-chain"},
            ),
        }
        handler = routes.get((request.method, path))
        return handler() if handler else _json(404, {"errors": []})

    def _login(self, request: RecordedRequest) -> _Reply:
        body = request.json()
        if (body.get("role_id"), body.get("secret_id")) != self.approle:
            return _json(400, {"errors": ["invalid role or secret ID"]})
        self.tokens["s.approle-token"] = 3600
        auth = {"client_token": "s.approle-token", "renewable": True, "lease_duration": 3600}
        return _json(200, {"auth": auth})

    def _renew(self, token: str) -> _Reply:
        self.tokens[token] = 86400
        return _json(200, {"auth": {"client_token": token, "lease_duration": 86400}})

    def _sign(self, request: RecordedRequest) -> _Reply:
        body = request.json()
        now = datetime.now(UTC)
        profile = CertificateProfile(id="vault", name="vault", created_at=now, updated_at=now)
        ttl = int(str(body.get("ttl", "3600s")).removesuffix("s"))
        issued = issue_leaf(self.ca, body["csr"], profile=profile, now=now, ttl_seconds=ttl)
        serial = ":".join(f"{b:02x}" for b in bytes.fromhex(issued.serial_hex.zfill(40)))
        data = {
            "certificate": issued.pem.strip(),
            "issuing_ca": self.ca.certificate_pem.strip(),
            "ca_chain": [self.ca.certificate_pem.strip()],
            "serial_number": serial,
        }
        return _json(200, {"data": data})

    def _revoke(self, request: RecordedRequest) -> _Reply:
        self.revoked.append(request.json()["serial_number"])
        return _json(200, {"data": {"revocation_time": 1}})


def _json(status: int, body: Any) -> _Reply:
    return _Reply(status, json.dumps(body).encode(), {"Content-Type": "application/json"})
