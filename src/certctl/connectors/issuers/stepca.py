"""Smallstep step-ca as an issuer on its native API, with a JWK provisioner.

Each call carries a one-time token (a JWT signed with the provisioner's private JWK, ES256):
`POST /1.0/sign` with the CSR, `POST /1.0/revoke` with the serial and RFC 5280 reason code,
`GET /roots` for the chain, `GET /health` and `GET /root/{sha256}` to test the connection.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import ssl
import time
from typing import Any

import httpx
from josepy import jwa, jwk, jws
from josepy.b64 import b64encode
from pydantic import BaseModel, ConfigDict, Field, field_validator

from certctl.connectors.issuers.acme_network import ca_bundle_path
from certctl.connectors.issuers.base import (
    ConnectionCheck,
    IssuanceRefused,
    IssuedChain,
    IssueRequest,
    OrderJournal,
    RenewalWindow,
)
from certctl.connectors.ssrf import check_url_async
from certctl.domain.revocation import RevocationReason
from certctl.errors import CAUnavailable, ConnectorError
from certctl.pki.facts import first_certificate_der

KIND = "StepCA"
TOKEN_LIFETIME_SECONDS = 300


class StepCAConfig(BaseModel):
    """A step-ca issuer's configuration."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="The CA's URL, e.g. https://ca.internal:9000.")
    root_fingerprint: str = Field(description="SHA-256 fingerprint (hex) of the CA's root.")
    provisioner: str = Field(min_length=1, description="JWK provisioner name.")
    provisioner_private_key: str = Field(
        description="The provisioner's private JWK (JSON, as `step crypto jwe decrypt` shows it)."
    )
    ca_bundle_pem: str | None = Field(default=None, description="PEM trusted for the CA's TLS.")

    @field_validator("root_fingerprint")
    @classmethod
    def _fingerprint(cls, value: str) -> str:
        digits = value.replace(":", "").lower()
        if len(digits) != 64 or any(c not in "0123456789abcdef" for c in digits):
            raise ValueError("must be a SHA-256 fingerprint: 64 hex digits")
        return digits

    @field_validator("provisioner_private_key")
    @classmethod
    def _jwk(cls, value: str) -> str:
        try:
            key = jwk.JWK.from_json(json.loads(value))
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"not a JWK: {exc}") from None
        if not isinstance(key, jwk.JWKEC):
            raise ValueError("the provisioner key must be an EC (P-256) JWK")
        return value


class StepCAIssuer:
    """Issues through a step-ca JWK provisioner."""

    kind = KIND

    def __init__(self, config: StepCAConfig, *, allow_private: bool, timeout: float = 30.0) -> None:
        self.config = config
        self.allow_private = allow_private
        self.timeout = timeout
        raw = json.loads(config.provisioner_private_key)
        key = jwk.JWK.from_json(raw)
        assert isinstance(key, jwk.JWKEC)  # checked by StepCAConfig
        self.key = key
        # step-ca names a JWK provisioner's key by its RFC 7638 thumbprint, base64url.
        self.kid = str(raw.get("kid") or b64encode(key.thumbprint()).decode())
        self.base = config.url.rstrip("/")

    def token(self, audience: str, subject: str, **claims: Any) -> str:
        """A one-time token for `audience` (the endpoint's URL) about `subject`."""
        now = int(time.time())
        payload = {
            "iss": self.config.provisioner,
            "aud": audience,
            "sub": subject,
            "sha": self.config.root_fingerprint,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            "jti": secrets.token_hex(16),
            **claims,
        }
        signed = jws.JWS.sign(
            json.dumps(payload).encode(),
            key=self.key,
            alg=jwa.ES256,
            kid=self.kid,
            protect=frozenset({"alg", "kid"}),
        )
        return str(signed.to_compact().decode())

    async def issue(self, request: IssueRequest, journal: OrderJournal) -> IssuedChain:
        """`/1.0/sign` with the CSR and a token naming its subject and SANs."""
        url = f"{self.base}/1.0/sign"
        ott = self.token(url, request.common_name, sans=list(request.names))
        body = {"csr": request.csr_pem, "ott": ott, "notAfter": f"{request.ttl_seconds}s"}
        answer = await self._call("POST", "/1.0/sign", body)
        chain = answer.get("certChain") or [answer["crt"], answer["ca"]]
        return IssuedChain("".join(pem if pem.endswith("\n") else pem + "\n" for pem in chain))

    async def revoke(
        self, *, certificate_pem: str, serial_hex: str, reason: RevocationReason
    ) -> None:
        """`/1.0/revoke` (passive) with the decimal serial and the RFC 5280 reason code."""
        serial = str(int(serial_hex, 16))
        ott = self.token(f"{self.base}/1.0/revoke", serial)
        body = {
            "serial": serial,
            "ott": ott,
            "reasonCode": reason.code,
            "reason": reason.value,
            "passive": True,
        }
        await self._call("POST", "/1.0/revoke", body)

    async def ca_chain(self) -> str:
        """The CA's roots (`/roots`)."""
        answer = await self._call("GET", "/roots")
        return "".join(answer.get("crts") or [])

    async def test_connection(self) -> ConnectionCheck:
        """`/health`, then the root by fingerprint: it must hash to the configured value."""
        try:
            await self._call("GET", "/health")
            root = await self._call("GET", f"/root/{self.config.root_fingerprint}")
        except (ConnectorError, CAUnavailable) as exc:
            return ConnectionCheck(False, exc.detail)
        seen = hashlib.sha256(first_certificate_der(root["ca"])).hexdigest()
        if seen != self.config.root_fingerprint:
            return ConnectionCheck(
                False, f"the CA's root has fingerprint {seen}, not the one configured"
            )
        return ConnectionCheck(True, f"step-ca at {self.base}: healthy, root {seen[:16]}…")

    async def renewal_window(self, certificate_pem: str) -> RenewalWindow | None:
        """step-ca suggests no window."""
        return None

    async def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        await check_url_async(self.base, allow_private=self.allow_private, field="config.url")
        verify: ssl.SSLContext | bool = True
        bundle = ca_bundle_path(self.config.ca_bundle_pem)
        if isinstance(bundle, str):
            verify = ssl.create_default_context(cafile=bundle)
        try:
            async with httpx.AsyncClient(verify=verify, timeout=self.timeout) as client:
                response = await client.request(method, f"{self.base}{path}", json=body)
        except httpx.HTTPError as exc:
            raise CAUnavailable(f"step-ca unreachable: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise ConnectorError(f"step-ca answered {response.status_code}", connector=KIND)
        if response.status_code >= 400:
            raise IssuanceRefused(
                f"step-ca refused ({response.status_code}): {_message(response)}", connector=KIND
            )
        result: dict[str, Any] = response.json()
        return result


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message") or response.text)
    except ValueError:
        return response.text[:500]
