"""HashiCorp Vault PKI as an issuer (hvac): token or AppRole auth, sign/:role, revoke, chain.

Endpoints used (Vault HTTP API): `POST /v1/auth/approle/login`, `GET /v1/auth/token/lookup-self`,
`POST /v1/auth/token/renew-self`, `GET /v1/{mount}/roles/{role}`, `POST /v1/{mount}/sign/{role}`,
`POST /v1/{mount}/revoke`, `GET /v1/{mount}/ca_chain`. hvac is synchronous: each call runs in
a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import hvac
import requests
from hvac import exceptions as hvac_errors
from pydantic import BaseModel, ConfigDict, Field, model_validator

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

KIND = "VaultPKI"
RENEW_BELOW_SECONDS = 3600
"""A token with less than this left (and renewable) is renewed before it is used."""
P = ParamSpec("P")
T = TypeVar("T")


class VaultConfig(BaseModel):
    """A Vault PKI issuer's configuration."""

    model_config = ConfigDict(extra="forbid")

    address: str = Field(description="Vault address, e.g. https://vault.example.com:8200.")
    mount: str = Field(default="pki", min_length=1, description="PKI secrets engine mount.")
    role: str = Field(min_length=1, description="PKI role that signs (sign/:role).")
    namespace: str | None = Field(default=None, description="Vault Enterprise namespace.")
    token: str | None = Field(default=None, description="Token auth (sealed at rest).")
    approle_role_id: str | None = Field(default=None, description="AppRole auth: role_id.")
    approle_secret_id: str | None = Field(
        default=None, description="AppRole auth: secret_id (sealed at rest)."
    )
    ca_bundle_pem: str | None = Field(default=None, description="PEM trusted for Vault's TLS.")

    @model_validator(mode="after")
    def _auth(self) -> VaultConfig:
        if not self.token and not (self.approle_role_id and self.approle_secret_id):
            raise ValueError("give token, or approle_role_id and approle_secret_id")
        if not self.address.startswith(("https://", "http://")):
            raise ValueError("address must be an http(s) URL")
        return self


class VaultIssuer:
    """Issues through a Vault PKI role."""

    kind = KIND

    def __init__(self, config: VaultConfig, *, allow_private: bool, timeout: float = 30.0) -> None:
        self.config = config
        self.allow_private = allow_private
        self.timeout = timeout
        self._token: str | None = config.token

    async def issue(self, request: IssueRequest, journal: OrderJournal) -> IssuedChain:
        """`sign/:role` with the CSR; the chain is the certificate then Vault's CA chain."""
        client = await self._client()
        params = {"ttl": f"{request.ttl_seconds}s", "format": "pem"}
        if request.names:
            params["alt_names"] = ",".join(n for n in request.names if n != request.common_name)
        answer = await self._run(
            client.secrets.pki.sign_certificate,
            name=self.config.role,
            csr=request.csr_pem,
            common_name=request.common_name,
            extra_params=params,
            mount_point=self.config.mount,
        )
        data = answer["data"]
        chain = data.get("ca_chain") or [data["issuing_ca"]]
        return IssuedChain(
            "\n".join([data["certificate"].strip(), *(c.strip() for c in chain)]) + "\n"
        )

    async def revoke(
        self, *, certificate_pem: str, serial_hex: str, reason: RevocationReason
    ) -> None:
        """`revoke` by serial (Vault's colon-separated form; Vault records no reason)."""
        client = await self._client()
        await self._run(
            client.secrets.pki.revoke_certificate,
            serial_number=_colon_serial(serial_hex),
            mount_point=self.config.mount,
        )

    async def ca_chain(self) -> str:
        """`ca_chain`: the issuing CA and its parents in PEM."""
        client = await self._client()
        chain: str = await self._run(
            client.secrets.pki.read_ca_certificate_chain, mount_point=self.config.mount
        )
        return chain

    async def test_connection(self) -> ConnectionCheck:
        """Authenticate, then read the role: a bad token or an unknown role is named."""
        try:
            client = await self._client()
            await self._run(
                client.secrets.pki.read_role, name=self.config.role, mount_point=self.config.mount
            )
        except (ConnectorError, CAUnavailable) as exc:
            return ConnectionCheck(False, exc.detail)
        return ConnectionCheck(
            True,
            f"Vault at {self.config.address}: role {self.config.role!r} on {self.config.mount}/",
        )

    async def renewal_window(self, certificate_pem: str) -> RenewalWindow | None:
        """Vault suggests no window."""
        return None

    async def _client(self) -> hvac.Client:
        """An authenticated client; AppRole logs in, a token near its end is renewed."""
        await check_url_async(
            self.config.address, allow_private=self.allow_private, field="config.address"
        )
        client = hvac.Client(
            url=self.config.address,
            token=self._token,
            namespace=self.config.namespace,
            verify=ca_bundle_path(self.config.ca_bundle_pem),
            timeout=int(self.timeout),
        )
        if self._token is None:
            login = await self._run(
                client.auth.approle.login,
                role_id=self.config.approle_role_id,
                secret_id=self.config.approle_secret_id,
            )
            self._token = login["auth"]["client_token"]
            client.token = self._token
            return client
        info = (await self._run(client.auth.token.lookup_self))["data"]
        if info.get("renewable") and 0 < int(info.get("ttl") or 0) < RENEW_BELOW_SECONDS:
            await self._run(client.auth.token.renew_self)
        return client

    async def _run(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await asyncio.to_thread(func, *args, **kwargs)
        except hvac_errors.Forbidden as exc:
            raise IssuanceRefused(
                f"Vault refused the token: {_errors(exc)}", connector=KIND
            ) from exc
        except hvac_errors.InvalidPath as exc:
            raise IssuanceRefused(
                f"Vault has no such path: {_errors(exc)}", connector=KIND
            ) from exc
        except hvac_errors.InvalidRequest as exc:
            raise IssuanceRefused(
                f"Vault refused the request: {_errors(exc)}", connector=KIND
            ) from exc
        except hvac_errors.VaultError as exc:
            raise ConnectorError(f"Vault error: {_errors(exc)}", connector=KIND) from exc
        except requests.RequestException as exc:
            raise CAUnavailable(f"Vault unreachable: {type(exc).__name__}: {exc}") from exc


def _errors(exc: Any) -> str:
    errors = getattr(exc, "errors", None)
    return "; ".join(str(e) for e in errors) if errors else str(exc) or type(exc).__name__


def _colon_serial(serial_hex: str) -> str:
    """Vault names serials as colon-separated byte pairs (`1a:2b:…`)."""
    digits = serial_hex.lower().zfill(len(serial_hex) + len(serial_hex) % 2)
    return ":".join(digits[i : i + 2] for i in range(0, len(digits), 2))
