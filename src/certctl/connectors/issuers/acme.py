"""ACME (RFC 8555) issuer on the `acme` package: account, order, HTTP-01, finalize, revoke.

The `acme` client is synchronous: every exchange runs in a worker thread, and the steps
between them (saving the order on the job, publishing a challenge answer in the database)
run on the event loop. The order URL and the CSR are journaled as soon as the order exists,
so an attempt after a restart continues that order instead of opening another.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, ParamSpec, Protocol, TypeVar

from acme import challenges, messages
from acme import client as acme_client
from josepy.jwa import ES256
from josepy.jwk import JWKEC
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from certctl.connectors.issuers.acme_ari import (
    fetch_window,
    new_order,
    renewal_info_url,
    replaces_id,
)
from certctl.connectors.issuers.acme_network import (
    KIND,
    RetryingNetwork,
    ca_bundle_path,
    translate,
)
from certctl.connectors.issuers.base import (
    ConnectionCheck,
    IssuanceRefused,
    IssuedChain,
    IssueRequest,
    OrderJournal,
    RenewalWindow,
)
from certctl.connectors.issuers.dns01 import run_hook, wait_for_txt
from certctl.connectors.ssrf import check_url_async
from certctl.domain.inventory import check_email
from certctl.domain.revocation import RevocationReason
from certctl.pki.facts import split_pem_chain
from certctl.pki.keys import generate_key, load_private_key, private_key_to_pem

P = ParamSpec("P")
T = TypeVar("T")
USER_AGENT = "certctl-acme"
ACCOUNT_KEY_SPEC = "ECDSA-P256"


class AcmeConfig(BaseModel):
    """An ACME issuer's configuration (the dashboard form is drawn from this schema)."""

    model_config = ConfigDict(extra="forbid")

    directory_url: str = Field(description="The CA's directory URL (https).")
    email: str | None = Field(default=None, description="Account contact address.")
    terms_agreed: bool = Field(
        default=False,
        validate_default=True,
        description="You agree to the CA's terms of service (required).",
    )
    challenge_type: Literal["http-01", "dns-01"] = Field(
        default="http-01",
        description="http-01: certctl answers at /.well-known/acme-challenge/; "
        "dns-01: the hook commands publish a TXT record.",
    )
    dns_present_command: list[str] | None = Field(
        default=None,
        description="dns-01: argv that publishes the TXT record (name and value appended).",
    )
    dns_cleanup_command: list[str] | None = Field(
        default=None, description="dns-01: argv that removes the TXT record afterwards."
    )
    dns_hook_timeout_seconds: int = Field(default=60, ge=1, le=3600)
    dns_resolver: str | None = Field(
        default=None,
        description="dns-01: resolver (IP or IP:port) that must see the record before the CA "
        "is asked to validate, e.g. the zone's primary name server.",
    )
    dns_propagation_timeout_seconds: int = Field(default=300, ge=1, le=3600)
    eab_kid: str | None = Field(default=None, description="External Account Binding key id.")
    eab_hmac_key: str | None = Field(
        default=None,
        description="External Account Binding HMAC key (base64url).",
        json_schema_extra={"writeOnly": True, "format": "password"},
    )
    ca_bundle_pem: str | None = Field(
        default=None, description="PEM bundle trusted for a private ACME server's TLS."
    )
    profile: str | None = Field(default=None, description="ACME profile name, if the CA has them.")
    order_timeout_seconds: int = Field(default=90, ge=5, le=3600)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else check_email(value, field="email")

    @field_validator("terms_agreed")
    @classmethod
    def _terms(cls, value: bool) -> bool:
        if not value:
            raise ValueError("agree to the CA's terms of service explicitly (terms_agreed: true)")
        return value

    @model_validator(mode="after")
    def _dns01(self) -> AcmeConfig:
        if self.challenge_type == "dns-01" and not self.dns_present_command:
            raise ValueError("dns-01 needs dns_present_command (an argv list)")
        for name in ("dns_present_command", "dns_cleanup_command"):
            argv = getattr(self, name)
            if argv is not None and (not argv or not all(argv)):
                raise ValueError(f"{name} must be a non-empty argv list of non-empty strings")
        return self

    @field_validator("directory_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value


@dataclass(frozen=True)
class AccountRecord:
    """The ACME account this issuer uses: its directory, key (PEM) and URL (the JWS kid)."""

    directory_url: str
    key_pem: str
    account_url: str


class AccountStore(Protocol):
    """Keeps the issuer's account (the key sealed at rest)."""

    async def load(self) -> AccountRecord | None:
        """The stored account, or None before the first use."""
        ...

    async def save(self, account: AccountRecord) -> None:
        """Keep a newly registered account."""
        ...


class ChallengeAnswers(Protocol):
    """Serves HTTP-01 key authorizations at /.well-known/acme-challenge/{token}."""

    async def publish(self, token: str, key_authorization: str) -> None:
        """Answer `token` from now on, on every replica."""
        ...

    async def withdraw(self, token: str) -> None:
        """Stop answering `token`."""
        ...


class AcmeIssuer:
    """One ACME issuer: a directory, an account and the HTTP-01 answers of its orders."""

    kind = KIND

    def __init__(
        self,
        config: AcmeConfig,
        *,
        accounts: AccountStore,
        answers: ChallengeAnswers,
        allow_private: bool,
        timeout: float = 30.0,
    ) -> None:
        self.config = config
        self.accounts = accounts
        self.answers = answers
        self.allow_private = allow_private
        self.timeout = timeout

    # --- Account -----------------------------------------------------------------------

    async def _client(self) -> acme_client.ClientV2:
        """A client on the directory with the issuer's account (registered on first use)."""
        await check_url_async(
            self.config.directory_url,
            allow_private=self.allow_private,
            field="config.directory_url",
        )
        stored = await self.accounts.load()
        if stored is not None and stored.directory_url == self.config.directory_url:
            return await self._run(self._open, stored)
        key_pem = await asyncio.to_thread(
            lambda: private_key_to_pem(generate_key(ACCOUNT_KEY_SPEC))
        )
        client = await self._run(self._register, key_pem)
        assert client.net.account is not None
        await self.accounts.save(
            AccountRecord(self.config.directory_url, key_pem, client.net.account.uri)
        )
        return client

    def _network(self, key_pem: str) -> RetryingNetwork:
        key = JWKEC(key=load_private_key(key_pem))
        return RetryingNetwork(
            key,
            alg=ES256,
            verify_ssl=ca_bundle_path(self.config.ca_bundle_pem),  # type: ignore[arg-type]
            user_agent=USER_AGENT,
            timeout=int(self.timeout),
        )

    def _open(self, stored: AccountRecord) -> acme_client.ClientV2:
        net = self._network(stored.key_pem)
        directory = acme_client.ClientV2.get_directory(self.config.directory_url, net)
        net.account = messages.RegistrationResource(
            body=messages.Registration(), uri=stored.account_url
        )
        return acme_client.ClientV2(directory, net)

    def _register(self, key_pem: str) -> acme_client.ClientV2:
        net = self._network(key_pem)
        directory = acme_client.ClientV2.get_directory(self.config.directory_url, net)
        client = acme_client.ClientV2(directory, net)
        eab = None
        if self.config.eab_kid and self.config.eab_hmac_key:
            assert net.key is not None
            eab = messages.ExternalAccountBinding.from_data(
                account_public_key=net.key.public_key(),
                kid=self.config.eab_kid,
                hmac_key=self.config.eab_hmac_key,
                directory=directory,
            )
        registration = messages.NewRegistration.from_data(
            email=self.config.email,
            terms_of_service_agreed=self.config.terms_agreed,
            external_account_binding=eab,
        )
        client.new_account(registration)
        return client

    # --- Issuance ----------------------------------------------------------------------

    async def issue(self, request: IssueRequest, journal: OrderJournal) -> IssuedChain:
        """Open (or resume) the order, answer its challenges, finalize, download the chain."""
        client = await self._client()
        order_url = request.resume.get("order_url")
        csr_pem = str(request.resume.get("csr_pem") or request.csr_pem)
        if isinstance(order_url, str) and order_url:
            order = await self._run(_resume_order, client, order_url, csr_pem)
        else:
            # A renewal names the certificate it replaces (RFC 9773 section 5).
            replaces = replaces_id(client.directory, request.replaces_pem)
            order = await self._run(
                new_order, client, csr_pem.encode(), self.config.profile or None, replaces
            )
            await journal.save({"order_url": order.uri, "csr_pem": csr_pem, "step": "authorizing"})
        # The `acme` package compares its deadlines with naive local time.
        deadline = dt.datetime.now() + dt.timedelta(  # noqa: DTZ005
            seconds=self.config.order_timeout_seconds
        )
        order = await self._complete(client, order, deadline, journal, csr_pem)
        if not order.fullchain_pem:
            raise IssuanceRefused("the ACME order ended without a certificate", connector=KIND)
        return IssuedChain(order.fullchain_pem)

    async def _complete(
        self,
        client: acme_client.ClientV2,
        order: messages.OrderResource,
        deadline: dt.datetime,
        journal: OrderJournal,
        csr_pem: str,
    ) -> messages.OrderResource:
        """Drive the order from wherever it stands to a downloaded certificate (8555 7.1.6)."""
        status = order.body.status
        if status == messages.STATUS_INVALID:
            raise (
                translate(order.body.error)
                if order.body.error
                else IssuanceRefused("the ACME order is invalid", connector=KIND)
            )
        if status in (messages.STATUS_VALID, messages.STATUS_PROCESSING):
            return await self._run(client.poll_finalization, order, deadline)
        if status == messages.STATUS_PENDING:
            published = await self._answer(client, order)
            # Answers stay published if this worker is stopped mid-validation (the CA may
            # still be fetching them); they are withdrawn once the authorizations are decided.
            try:
                order = await self._run(client.poll_authorizations, order, deadline)
            except Exception:
                await self._withdraw(published)
                raise
            await self._withdraw(published)
        await journal.save({"order_url": order.uri, "csr_pem": csr_pem, "step": "finalizing"})
        return await self._run(client.finalize_order, order, deadline)

    async def _withdraw(self, published: list[Published]) -> None:
        """Stop answering: withdraw HTTP-01 tokens, run the DNS clean-up hook."""
        for item in published:
            if item.token is not None:
                await self.answers.withdraw(item.token)
            elif self.config.dns_cleanup_command:
                await run_hook(
                    self.config.dns_cleanup_command,
                    record_name=item.dns_name,
                    value=item.value,
                    limit_seconds=self.config.dns_hook_timeout_seconds,
                    step="cleanup",
                )

    async def _answer(
        self, client: acme_client.ClientV2, order: messages.OrderResource
    ) -> list[Published]:
        """Publish and answer the configured challenge of every pending authorization."""
        published: list[Published] = []
        assert client.net.key is not None
        for authzr in order.authorizations:
            if authzr.body.status != messages.STATUS_PENDING:
                continue
            challenge = _challenge(authzr, self.config.challenge_type)
            response, validation = challenge.response_and_validation(client.net.key)
            if isinstance(challenge.chall, challenges.DNS01):
                name = challenge.chall.validation_domain_name(authzr.body.identifier.value)
                await self._present(name, validation)
                published.append(Published(dns_name=name, value=validation))
            else:
                token = challenge.chall.encode("token")
                await self.answers.publish(token, validation)
                published.append(Published(token=token))
            await self._run(client.answer_challenge, challenge, response)
        return published

    async def _present(self, name: str, value: str) -> None:
        """Run the present hook, then wait until the resolver sees the record (8555 8.4)."""
        assert self.config.dns_present_command is not None
        await run_hook(
            self.config.dns_present_command,
            record_name=name,
            value=value,
            limit_seconds=self.config.dns_hook_timeout_seconds,
            step="present",
        )
        if self.config.dns_resolver:
            await wait_for_txt(
                self.config.dns_resolver,
                name,
                value,
                limit_seconds=self.config.dns_propagation_timeout_seconds,
            )

    # --- Revocation, chain, test -------------------------------------------------------

    async def revoke(
        self, *, certificate_pem: str, serial_hex: str, reason: RevocationReason
    ) -> None:
        """revokeCert signed with the account key, with the RFC 5280 reason code (8555 7.6)."""
        client = await self._client()
        leaf = split_pem_chain(certificate_pem)[0]
        try:
            await self._run(client.revoke, leaf, reason.code)
        except IssuanceRefused as exc:
            # Revoked already (by an earlier try whose answer was lost): the CA agrees.
            if exc.problem.get("type") != "urn:ietf:params:acme:error:alreadyRevoked":
                raise

    async def ca_chain(self) -> str:
        """ACME gives the chain with each certificate; there is no separate CA endpoint."""
        raise IssuanceRefused(
            "an ACME CA publishes its chain with each certificate, not on its own", connector=KIND
        )

    async def test_connection(self) -> ConnectionCheck:
        """Fetch the directory and check it against the configuration (terms, EAB)."""
        try:
            await check_url_async(
                self.config.directory_url,
                allow_private=self.allow_private,
                field="config.directory_url",
            )
            directory = await self._run(self._directory)
        except Exception as exc:
            return ConnectionCheck(False, _reason(exc))
        meta = directory.meta
        if meta.external_account_required and not self.config.eab_kid:
            return ConnectionCheck(
                False,
                "the ACME server requires External Account Binding: set eab_kid and eab_hmac_key",
            )
        terms = f"; terms of service {meta.terms_of_service}" if meta.terms_of_service else ""
        return ConnectionCheck(
            True, f"ACME directory reachable at {self.config.directory_url}{terms}"
        )

    def _directory(self) -> messages.Directory:
        net = acme_client.ClientNetwork(
            verify_ssl=ca_bundle_path(self.config.ca_bundle_pem),  # type: ignore[arg-type]
            user_agent=USER_AGENT,
            timeout=int(self.timeout),
        )
        return acme_client.ClientV2.get_directory(self.config.directory_url, net)

    async def renewal_window(self, certificate_pem: str) -> RenewalWindow | None:
        """The CA's suggested window (RFC 9773), None when its directory has no renewalInfo."""
        await check_url_async(
            self.config.directory_url,
            allow_private=self.allow_private,
            field="config.directory_url",
        )
        directory = await self._run(self._directory)
        base = renewal_info_url(directory)
        if base is None:
            return None
        return await fetch_window(
            base,
            certificate_pem,
            ca_bundle_pem=self.config.ca_bundle_pem,
            allow_private=self.allow_private,
            limit_seconds=self.timeout,
        )

    async def _run(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run one blocking `acme` exchange in a worker thread, translating its errors."""
        try:
            return await asyncio.to_thread(func, *args, **kwargs)
        except Exception as exc:
            translated = translate(exc)
            if translated is exc:
                raise
            raise translated from exc


def _resume_order(
    client: acme_client.ClientV2, order_url: str, csr_pem: str
) -> messages.OrderResource:
    """The order as the CA has it now, with its authorizations (RFC 8555 section 7.1.3)."""
    response = client._post_as_get(order_url)
    body = messages.Order.from_json(response.json())
    authorizations = [
        client._authzr_from_response(client._post_as_get(url), uri=url)
        for url in body.authorizations
    ]
    return messages.OrderResource(
        body=body, uri=order_url, authorizations=authorizations, csr_pem=csr_pem.encode()
    )


_CHALLENGES: Mapping[str, type[challenges.KeyAuthorizationChallenge]] = {
    "http-01": challenges.HTTP01,
    "dns-01": challenges.DNS01,
}


def _challenge(authzr: messages.AuthorizationResource, kind: str) -> messages.ChallengeBody:
    for challenge in authzr.body.challenges:
        if isinstance(challenge.chall, _CHALLENGES[kind]):
            return challenge
    raise IssuanceRefused(
        f"the ACME server offers no {kind} challenge for {authzr.body.identifier.value}",
        connector=KIND,
    )


@dataclass(frozen=True)
class Published:
    """One challenge answer put in place: an HTTP-01 token, or a DNS-01 TXT record."""

    token: str | None = None
    dns_name: str = ""
    value: str = ""


def _reason(exc: Exception) -> str:
    detail = getattr(exc, "detail", None)
    return str(detail) if detail else f"{type(exc).__name__}: {exc}"


def parse_config(config: Mapping[str, Any]) -> AcmeConfig:
    """Validate an ACME issuer config (raises pydantic's ValidationError)."""
    return AcmeConfig.model_validate(dict(config))
