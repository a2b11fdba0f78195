"""Who may do what: roles, principals and the permission each role carries."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from certctl.errors import PermissionDenied


class Role(enum.StrEnum):
    """API key and dashboard user roles (C10)."""

    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"
    AGENT = "agent"
    AUDITOR = "auditor"


class ActorType(enum.StrEnum):
    """Kinds of actor recorded in the audit trail (C1)."""

    USER = "User"
    SYSTEM = "System"
    AGENT = "Agent"


class Permission(enum.StrEnum):
    """Coarse permissions checked by every route."""

    READ = "read"
    WRITE = "write"
    READ_AUDIT = "read_audit"
    ADMIN = "admin"


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPERATOR: frozenset({Permission.READ, Permission.WRITE, Permission.READ_AUDIT}),
    Role.VIEWER: frozenset({Permission.READ, Permission.READ_AUDIT}),
    Role.AUDITOR: frozenset({Permission.READ_AUDIT}),
    Role.AGENT: frozenset(),
}


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the key or user name, its role and actor type."""

    name: str
    role: Role
    actor_type: ActorType = ActorType.USER

    def can(self, permission: Permission) -> bool:
        """Tell whether this principal's role grants `permission`."""
        return permission in _GRANTS[self.role]

    def require(self, permission: Permission) -> None:
        """Raise PermissionDenied unless the role grants `permission`."""
        if not self.can(permission):
            raise PermissionDenied(
                f"role {self.role.value!r} may not perform {permission.value!r} actions"
            )


SYSTEM = Principal(name="system", role=Role.ADMIN, actor_type=ActorType.SYSTEM)
ANONYMOUS_DEMO = Principal(name="anonymous-demo", role=Role.ADMIN)

API_KEY_PREFIX = "cc_"


def generate_api_key() -> str:
    """Return a new random API key (256 bits, URL-safe)."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """Return the stored form of an API key: hex SHA-256 (keys are high-entropy)."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_matches(key: str, stored_hash: str) -> bool:
    """Compare a presented key with a stored hash in constant time."""
    return hmac.compare_digest(hash_api_key(key), stored_hash)


@dataclass(frozen=True)
class Caller:
    """Who asked for an action, and the request it came with (for the audit trail)."""

    principal: Principal
    request_id: str | None = None


SYSTEM_CALLER = Caller(principal=SYSTEM)
