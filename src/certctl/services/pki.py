"""The local CA (GenericCA issuers): provisioning and CA material.

Issuance is in services/issuance.py, revocation and CRLs in services/revocation.py, OCSP in
services/ocsp.py. CPU-bound work (key generation, signing) runs in worker threads so the
event loop keeps serving. The CA key is sealed at rest with the configuration encryption key
and never leaves the services.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog

from certctl.db.uow import UnitOfWork
from certctl.domain.access import Caller
from certctl.domain.inventory import Issuer, IssuerType
from certctl.domain.pki import StoredCA
from certctl.errors import InvalidRequest, NotFound
from certctl.pki.ca import LocalCA, create_root, load_sub_ca
from certctl.pki.facts import first_certificate_der
from certctl.pki.keys import private_key_to_pem
from certctl.pki.sealing import Sealer
from certctl.services.audit import record
from certctl.services.certificates import CertificateService
from certctl.services.runtime import Runtime
from certctl.services.secrets import open_secrets

log = structlog.get_logger("certctl.pki")

ROOT_VALIDITY_DAYS = 3650
MAX_DAYS = 36500


def require_sealer(runtime: Runtime) -> Sealer:
    if runtime.sealer is None:
        raise InvalidRequest(
            "a GenericCA issuer keeps its CA key encrypted: set CERTCTL_CONFIG_ENCRYPTION_KEY",
            field="config",
        )
    return runtime.sealer


def _build_ca(runtime: Runtime, issuer: Issuer, now: datetime) -> tuple[LocalCA, str]:
    """The issuer's CA from its config: a loaded sub-CA, or a fresh self-signed root."""
    config: Mapping[str, Any] = issuer.config or {}
    secrets = open_secrets(issuer.sealed_secrets, runtime.sealer)
    cert_pem = config.get("ca_certificate_pem")
    key_pem = secrets.get("ca_private_key_pem")
    if cert_pem or key_pem:
        if not cert_pem or not key_pem:
            raise InvalidRequest(
                "a sub-CA needs both ca_certificate_pem and ca_private_key_pem",
                field="config.ca_certificate_pem" if not cert_pem else "config.ca_private_key_pem",
            )
        password = secrets.get("ca_private_key_password")
        return load_sub_ca(str(cert_pem), str(key_pem), now, password=password), "sub_ca"
    common_name = str(config.get("common_name") or issuer.name[:64])
    key_spec = str(config.get("key_spec") or "ECDSA-P256")
    days = config_days(config, "validity_days", ROOT_VALIDITY_DAYS)
    return create_root(common_name, key_spec, now=now, validity_days=days), "root"


def config_days(config: Mapping[str, Any], name: str, default: int) -> int:
    """A whole number of days from the issuer config, 1 to MAX_DAYS."""
    value = config.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
        raise InvalidRequest(
            f"{name} must be a whole number of days from 1 to {MAX_DAYS}", field=f"config.{name}"
        )
    return value


async def provision_issuer_ca(runtime: Runtime, uow: UnitOfWork, caller: Caller, obj: Any) -> None:
    """After-create hook of issuers: a GenericCA gets its CA, created once and persisted."""
    issuer: Issuer = obj
    if issuer.type != IssuerType.GENERIC_CA:
        return
    sealer = require_sealer(runtime)
    now = runtime.clock.now()
    ca, mode = await asyncio.to_thread(_build_ca, runtime, issuer, now)
    sealed_key = sealer.seal(private_key_to_pem(ca.key).encode())
    await uow.pki.add_ca(
        StoredCA(
            issuer_id=issuer.id, ca_chain_pem=ca.chain_pem, sealed_key=sealed_key, created_at=now
        )
    )
    await record(
        uow,
        runtime,
        caller=caller,
        action="issuer_ca_created",
        resource_type="issuer",
        resource_id=issuer.id,
        details={
            "mode": mode,
            "subject": ca.certificate.subject.rfc4514_string(),
            "serial_number": format(ca.certificate.serial_number, "x"),
            "not_after": ca.certificate.not_valid_after_utc.isoformat(),
        },
    )


class PkiService:
    """The local CAs' material: loaded (and cached) CAs, their chains and leaf URLs."""

    def __init__(
        self, runtime: Runtime, certificates: CertificateService, *, public_url: str | None
    ) -> None:
        self.runtime = runtime
        self.certificates = certificates
        self.public_url = public_url.rstrip("/") if public_url else None
        self._cas: dict[str, tuple[str, LocalCA]] = {}

    # --- CA material -------------------------------------------------------------------

    async def chain_pem(self, issuer_id: str) -> str:
        """The CA chain (CA first) of a GenericCA issuer; public."""
        async with self.runtime.db.uow() as uow:
            stored = await uow.pki.get_ca(issuer_id)
        if stored is None:
            raise NotFound("issuer_ca", issuer_id)
        return stored.ca_chain_pem

    async def ca_certificate_der(self, issuer_id: str) -> bytes:
        """The issuing CA's own certificate in DER, for the AIA caIssuers URL; public."""
        return first_certificate_der(await self.chain_pem(issuer_id))

    def load(self, stored: StoredCA) -> LocalCA:
        """The CA of a stored row, unsealed once and cached."""
        # Keyed by the sealed key too: an issuer deleted and re-created under the same id
        # has a different CA.
        cached = self._cas.get(stored.issuer_id)
        if cached is not None and cached[0] == stored.sealed_key:
            return cached[1]
        sealer = require_sealer(self.runtime)
        key_pem = sealer.open(stored.sealed_key).decode()
        ca = load_sub_ca(stored.ca_chain_pem, key_pem, self.runtime.clock.now())
        self._cas[stored.issuer_id] = (stored.sealed_key, ca)
        return ca

    async def load_ca(self, issuer_id: str) -> LocalCA:
        """The issuer's local CA, loaded (and cached) for signing."""
        async with self.runtime.db.uow() as uow:
            return await self.ca(uow, issuer_id)

    def leaf_urls(self, issuer_id: str) -> dict[str, str | None]:
        """The CRL, OCSP and CA certificate URLs the CA's leaves carry (when a public URL is set)."""
        return self._urls(issuer_id)

    async def ca(self, uow: UnitOfWork, issuer_id: str) -> LocalCA:
        """The issuer's CA inside an open unit of work; NotFound when it has none."""
        stored = await uow.pki.get_ca(issuer_id)
        if stored is None:
            raise NotFound("issuer_ca", issuer_id)
        return self.load(stored)

    def _urls(self, issuer_id: str) -> dict[str, str | None]:
        if not self.public_url:
            return {"crl_url": None, "ocsp_url": None, "ca_issuers_url": None}
        base = f"{self.public_url}/.well-known/pki"
        return {
            "crl_url": f"{base}/crl/{issuer_id}",
            "ocsp_url": f"{base}/ocsp/{issuer_id}",
            "ca_issuers_url": f"{base}/ca/{issuer_id}.cer",
        }
