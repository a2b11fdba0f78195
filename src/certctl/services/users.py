"""Dashboard users and sessions: create users, sign in with a password or an API key, sign out.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommended
option). A session is a random token held by the browser; the database keeps only its
SHA-256, the principal and a CSRF token. Each request re-checks the user or the API key
behind the session, so disabling a user or revoking a key ends its sessions at once.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Mapping
from dataclasses import replace

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from certctl.db.uow import UnitOfWork
from certctl.domain.access import Caller, Permission, Principal, Role, hash_api_key
from certctl.domain.audit import AuditStatus
from certctl.domain.ids import new_id
from certctl.domain.listing import Page, PageRequest, SortKey
from certctl.domain.users import (
    SESSION_LIFETIME,
    DashboardSession,
    DashboardUser,
    SessionKind,
    can_use_dashboard,
    check_password,
    check_username,
    new_token,
    session_id,
)
from certctl.errors import AuthenticationRequired, Conflict, InvalidRequest
from certctl.services.apikeys import ApiKeyService
from certctl.services.audit import record
from certctl.services.runtime import Runtime

RESOURCE = "dashboard_user"
ANONYMOUS = Principal(name="anonymous", role=Role.VIEWER)
WRONG_CREDENTIALS = "wrong username or password"


class UserService:
    """Dashboard users, password and API-key sign-in, and session lookup."""

    def __init__(
        self, runtime: Runtime, api_keys: ApiKeyService, configured: Mapping[str, Principal]
    ) -> None:
        self.runtime = runtime
        self.api_keys = api_keys
        self._configured = dict(configured)
        self._hasher = PasswordHasher()
        self._dummy_hash: str | None = None

    async def create(
        self, caller: Caller, *, username: str, password: str, role: Role
    ) -> DashboardUser:
        """Store a new user with an argon2 hash of `password` (admin)."""
        caller.principal.require(Permission.ADMIN)
        check_username(username)
        check_password(password)
        if not can_use_dashboard(role):
            raise InvalidRequest(f"role {role.value!r} cannot use the dashboard", field="role")
        password_hash = await asyncio.to_thread(self._hasher.hash, password)
        now = self.runtime.clock.now()
        user = DashboardUser(
            id=new_id("u", now),
            username=username,
            role=role,
            password_hash=password_hash,
            created_at=now,
            updated_at=now,
            created_by=caller.principal.name,
        )
        async with self.runtime.db.uow() as uow:
            if await uow.users.by_username(username) is not None:
                raise Conflict(f"a dashboard user named {username!r} already exists")
            await uow.users.add(user)
            await record(
                uow,
                self.runtime,
                caller=caller,
                action="user_created",
                resource_type=RESOURCE,
                resource_id=user.id,
                details={"username": username, "role": role.value},
            )
        return user

    async def search(self, caller: Caller, *, request: PageRequest) -> Page[DashboardUser]:
        """Dashboard users by name (admin)."""
        caller.principal.require(Permission.ADMIN)
        async with self.runtime.db.uow() as uow:
            return await uow.users.page(request=request, sort=SortKey("username"))

    # --- sign-in ------------------------------------------------------------------------

    async def login_password(
        self, username: str, password: str, *, request_id: str | None = None
    ) -> tuple[DashboardSession, str]:
        """Open a session for a user whose password matches; answer it and its token."""
        async with self.runtime.db.uow() as uow:
            user = await uow.users.by_username(username.strip().lower())
        matches = await self._verify(user.password_hash if user else None, password)
        reason = _refusal(user, matches)
        if user is None or reason is not None:
            await self._login_failed("password", username, reason or "", request_id)
            raise AuthenticationRequired(WRONG_CREDENTIALS)
        principal = Principal(name=user.username, role=user.role)
        return await self._open(
            SessionKind.USER, user.id, principal, request_id, user=user, password=password
        )

    async def login_key(
        self, presented: str, *, request_id: str | None = None
    ) -> tuple[DashboardSession, str]:
        """Open a session for a valid API key of a role that may use the dashboard."""
        try:
            principal = await self.api_keys.authenticate(presented)
        except AuthenticationRequired:
            await self._login_failed("api_key", "", "unknown or revoked key", request_id)
            raise AuthenticationRequired("the API key is not valid") from None
        if not can_use_dashboard(principal.role):
            await self._login_failed(
                "api_key", principal.name, f"role {principal.role.value}", request_id
            )
            raise AuthenticationRequired("this API key's role cannot use the dashboard")
        return await self._open(SessionKind.API_KEY, hash_api_key(presented), principal, request_id)

    async def _verify(self, stored: str | None, password: str) -> bool:
        """Check a password; with no user, hash anyway so timing does not reveal names."""
        if stored is None:
            stored = await self._dummy()
        try:
            return await asyncio.to_thread(self._hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await asyncio.to_thread(self._hasher.hash, new_token())
        return self._dummy_hash

    async def _open(
        self,
        kind: SessionKind,
        subject: str,
        principal: Principal,
        request_id: str | None,
        *,
        user: DashboardUser | None = None,
        password: str = "",
    ) -> tuple[DashboardSession, str]:
        now = self.runtime.clock.now()
        token = new_token()
        session = DashboardSession(
            id=session_id(token),
            kind=kind,
            subject=subject,
            principal_name=principal.name,
            role=principal.role,
            csrf_token=new_token(),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
        if user is not None:
            user = await self._signed_in(user, password)
        async with self.runtime.db.uow() as uow:
            await uow.dashboard_sessions.remove_expired(now)
            await uow.dashboard_sessions.add(session)
            if user is not None:
                await uow.users.update(user)
            await record(
                uow,
                self.runtime,
                caller=Caller(principal=principal, request_id=request_id),
                action="dashboard_login",
                resource_type=RESOURCE if user is not None else "api_key",
                resource_id=user.id if user is not None else principal.name,
                details={"method": "password" if user is not None else "api_key"},
            )
        return session, token

    async def _signed_in(self, user: DashboardUser, password: str) -> DashboardUser:
        """The user with its sign-in time, and its hash upgraded if the parameters changed."""
        now = self.runtime.clock.now()
        password_hash = user.password_hash
        if self._hasher.check_needs_rehash(password_hash):
            password_hash = await asyncio.to_thread(self._hasher.hash, password)
        return replace(user, last_login_at=now, password_hash=password_hash, updated_at=now)

    async def _login_failed(
        self, method: str, username: str, reason: str, request_id: str | None
    ) -> None:
        async with self.runtime.db.uow() as uow:
            await record(
                uow,
                self.runtime,
                caller=Caller(principal=ANONYMOUS, request_id=request_id),
                action="dashboard_login_failed",
                resource_type=RESOURCE if method == "password" else "api_key",
                resource_id="-",
                details={"method": method, "username": username[:64], "reason": reason},
                status=AuditStatus.FAILURE,
            )

    # --- sessions -----------------------------------------------------------------------

    async def resolve(self, token: str) -> tuple[DashboardSession, Principal] | None:
        """The live session of a cookie token and its current principal, or None."""
        now = self.runtime.clock.now()
        async with self.runtime.db.uow() as uow:
            session = await uow.dashboard_sessions.get(session_id(token))
            if session is None or session.expired(now):
                return None
            principal: Principal | None = None
            if session.kind is SessionKind.USER:
                user = await uow.users.get(session.subject)
                if user is not None and user.disabled_at is None:
                    principal = Principal(name=user.username, role=user.role)
            else:
                principal = await self._key_principal(uow, session.subject)
        if principal is None or not can_use_dashboard(principal.role):
            return None
        return session, principal

    async def _key_principal(self, uow: UnitOfWork, key_hash: str) -> Principal | None:
        for stored, principal in self._configured.items():
            if hmac.compare_digest(stored, key_hash):
                return principal
        key = await uow.api_keys.by_hash(key_hash)
        if key is None or key.revoked_at is not None:
            return None
        return Principal(name=key.name, role=key.role)

    async def logout(self, caller: Caller, session: DashboardSession) -> None:
        """End a session (audited)."""
        async with self.runtime.db.uow() as uow:
            await uow.dashboard_sessions.remove(session.id)
            await record(
                uow,
                self.runtime,
                caller=caller,
                action="dashboard_logout",
                resource_type=RESOURCE if session.kind is SessionKind.USER else "api_key",
                resource_id=session.subject if session.kind is SessionKind.USER else "-",
            )


def _refusal(user: DashboardUser | None, matches: bool) -> str | None:
    """Why a password sign-in is refused (for the audit row), or None."""
    if user is None:
        return "unknown user"
    if not matches:
        return "wrong password"
    if user.disabled_at is not None:
        return "user disabled"
    if not can_use_dashboard(user.role):
        return f"role {user.role.value}"
    return None
