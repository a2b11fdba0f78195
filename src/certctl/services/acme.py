"""ACME state kept in the database: the sealed account per issuer and HTTP-01 answers.

Answers live in the database so that whichever replica the CA's validation request reaches
serves the key authorization (RFC 8555 section 8.3).
"""

from __future__ import annotations

from certctl.connectors.issuers.acme import AccountRecord
from certctl.db.repositories.acme import StoredAccount
from certctl.errors import InvalidRequest
from certctl.services.runtime import Runtime


class SealedAccounts:
    """The AccountStore of one ACME issuer: its account key sealed like every other secret."""

    def __init__(self, runtime: Runtime, issuer_id: str) -> None:
        self.runtime = runtime
        self.issuer_id = issuer_id

    async def load(self) -> AccountRecord | None:
        """The issuer's account, its key unsealed for signing."""
        async with self.runtime.db.uow() as uow:
            stored = await uow.acme.account(self.issuer_id)
        if stored is None or self.runtime.sealer is None:
            return None
        key_pem = self.runtime.sealer.open(stored.sealed_key).decode()
        return AccountRecord(stored.directory_url, key_pem, stored.account_url)

    async def save(self, account: AccountRecord) -> None:
        """Keep a new account; its key never reaches the database in the clear."""
        if self.runtime.sealer is None:
            raise InvalidRequest(
                "an ACME issuer keeps its account key encrypted: set CERTCTL_CONFIG_ENCRYPTION_KEY",
                field="config",
            )
        async with self.runtime.db.uow() as uow:
            await uow.acme.save_account(
                StoredAccount(
                    issuer_id=self.issuer_id,
                    directory_url=account.directory_url,
                    sealed_key=self.runtime.sealer.seal(account.key_pem.encode()),
                    account_url=account.account_url,
                    created_at=self.runtime.clock.now(),
                )
            )


class StoredAnswers:
    """The ChallengeAnswers of one ACME issuer, in the acme_challenges table."""

    def __init__(self, runtime: Runtime, issuer_id: str) -> None:
        self.runtime = runtime
        self.issuer_id = issuer_id

    async def publish(self, token: str, key_authorization: str) -> None:
        """Answer `token` from every replica."""
        async with self.runtime.db.uow() as uow:
            await uow.acme.publish_challenge(
                token=token,
                key_authorization=key_authorization,
                issuer_id=self.issuer_id,
                now=self.runtime.clock.now(),
            )

    async def withdraw(self, token: str) -> None:
        """Stop answering `token`."""
        async with self.runtime.db.uow() as uow:
            await uow.acme.withdraw_challenge(token)


async def key_authorization(runtime: Runtime, token: str) -> str | None:
    """The HTTP-01 answer for `token`, for /.well-known/acme-challenge/{token}."""
    async with runtime.db.uow() as uow:
        return await uow.acme.key_authorization(token)
