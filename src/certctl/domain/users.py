"""Dashboard users and sessions: names, password rules, session tokens (C10)."""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from certctl.domain.access import Permission, Principal, Role
from certctl.errors import InvalidRequest

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
SESSION_LIFETIME = timedelta(hours=12)
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")


@dataclass(frozen=True)
class DashboardUser:
    """A person who signs in to the dashboard with a password (stored as an argon2 hash)."""

    id: str
    username: str
    role: Role
    password_hash: str
    created_at: datetime
    updated_at: datetime
    created_by: str = ""
    disabled_at: datetime | None = None
    last_login_at: datetime | None = None


def check_username(value: str) -> str:
    """Accept 1-64 lower-case letters, digits, `.`, `_`, `@` or `-`, starting alphanumeric."""
    if not _USERNAME.fullmatch(value):
        raise InvalidRequest(
            "username must be 1-64 lower-case letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit",
            field="username",
        )
    return value


def check_password(value: str) -> str:
    """Refuse a password that is too short, too long or holds a NUL character."""
    if len(value) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    if len(value) > MAX_PASSWORD_LENGTH or "\x00" in value:
        raise InvalidRequest(
            f"password must have at most {MAX_PASSWORD_LENGTH} characters and no NUL",
            field="password",
        )
    return value


def can_use_dashboard(role: Role) -> bool:
    """Roles that can read something: every role except `agent`."""
    probe = Principal(name="-", role=role)
    return probe.can(Permission.READ) or probe.can(Permission.READ_AUDIT)


class SessionKind(enum.StrEnum):
    """How a dashboard session was opened."""

    USER = "user"
    API_KEY = "api_key"


@dataclass(frozen=True)
class DashboardSession:
    """A signed-in browser. `id` is the SHA-256 of the cookie's token, never the token.

    `subject` is the user id for password sessions, or the key hash for API-key sessions,
    so that every request can check the user or key is still valid.
    """

    id: str
    kind: SessionKind
    subject: str
    principal_name: str
    role: Role
    csrf_token: str
    created_at: datetime
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        """Whether the session's lifetime is over."""
        return now >= self.expires_at


def new_token() -> str:
    """A fresh 256-bit random token (session cookie or CSRF token)."""
    return secrets.token_urlsafe(32)


def session_id(token: str) -> str:
    """The stored identity of a session token: hex SHA-256 (tokens are high-entropy)."""
    return hashlib.sha256(token.encode()).hexdigest()
