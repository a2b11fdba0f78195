"""ACME state: one account per issuer (sealed key) and the HTTP-01 answers any replica serves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from certctl.db.models import AcmeAccountRow, AcmeChallengeRow


@dataclass(frozen=True)
class StoredAccount:
    """An ACME account of an issuer: its directory, sealed key and account URL (the kid)."""

    issuer_id: str
    directory_url: str
    sealed_key: str
    account_url: str
    created_at: datetime


class AcmeRepository:
    """acme_accounts and acme_challenges rows."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def account(self, issuer_id: str) -> StoredAccount | None:
        """The issuer's account, if one was registered."""
        row = await self.session.get(AcmeAccountRow, issuer_id)
        if row is None:
            return None
        return StoredAccount(
            row.issuer_id, row.directory_url, row.sealed_key, row.account_url, row.created_at
        )

    async def save_account(self, account: StoredAccount) -> None:
        """Store (or replace, after a directory change) the issuer's account."""
        await self.session.execute(
            delete(AcmeAccountRow).where(AcmeAccountRow.issuer_id == account.issuer_id)
        )
        self.session.add(
            AcmeAccountRow(
                issuer_id=account.issuer_id,
                directory_url=account.directory_url,
                sealed_key=account.sealed_key,
                account_url=account.account_url,
                created_at=account.created_at,
            )
        )
        await self.session.flush()

    async def publish_challenge(
        self, *, token: str, key_authorization: str, issuer_id: str, now: datetime
    ) -> None:
        """Make `token` answerable (idempotent: a resumed order publishes it again)."""
        await self.session.execute(delete(AcmeChallengeRow).where(AcmeChallengeRow.token == token))
        self.session.add(
            AcmeChallengeRow(
                token=token,
                key_authorization=key_authorization,
                issuer_id=issuer_id,
                created_at=now,
            )
        )
        await self.session.flush()

    async def key_authorization(self, token: str) -> str | None:
        """The answer to an HTTP-01 validation request for `token`."""
        row = await self.session.get(AcmeChallengeRow, token)
        return None if row is None else row.key_authorization

    async def withdraw_challenge(self, token: str) -> None:
        """Stop answering `token` once its authorization is decided."""
        await self.session.execute(delete(AcmeChallengeRow).where(AcmeChallengeRow.token == token))
