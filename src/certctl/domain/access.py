"""Who may do what: roles, principals and the permission each role carries."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from certctl.errors import ConfigurationError, PermissionDenied


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
    # Hex SHA-256 of the request body and the monotonic time the request arrived (C11).
    body_sha256: str | None = None
    received_at: float | None = None


SYSTEM_CALLER = Caller(principal=SYSTEM)


MIN_CONFIGURED_KEY_LENGTH = 16


def parse_named_keys(spec: str, *, demo: bool = False) -> dict[str, Principal]:
    """Parse `name:key[:role],…` (CERTCTL_API_KEYS_NAMED) into key hash → principal.

    The role defaults to operator. Outside demo mode a key shorter than 16 characters is
    refused, so a placeholder such as `changeme` never guards a real server.
    """
    keys: dict[str, Principal] = {}
    for index, item in enumerate(p.strip() for p in spec.split(",")):
        if not item:
            continue
        name, key, role = _named_key_parts(item, index + 1)
        if not demo and len(key) < MIN_CONFIGURED_KEY_LENGTH:
            raise ConfigurationError(
                f"CERTCTL_API_KEYS_NAMED entry {index + 1} ({name}): keys need "
                f"{MIN_CONFIGURED_KEY_LENGTH}+ characters"
            )
        if any(p.name == name for p in keys.values()):
            raise ConfigurationError(f"CERTCTL_API_KEYS_NAMED names {name!r} twice")
        if hash_api_key(key) in keys:
            raise ConfigurationError(f"CERTCTL_API_KEYS_NAMED gives {name!r} a key already in use")
        keys[hash_api_key(key)] = Principal(name=name, role=role)
    return keys


def _named_key_parts(item: str, position: int) -> tuple[str, str, Role]:
    parts = item.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise ConfigurationError(
            f"CERTCTL_API_KEYS_NAMED entry {position} must be name:key or name:key:role"
        )
    role = parts[2] if len(parts) == 3 else Role.OPERATOR.value
    if role not in {r.value for r in Role}:
        allowed = ", ".join(r.value for r in Role)
        raise ConfigurationError(
            f"CERTCTL_API_KEYS_NAMED entry {position} has unknown role {role!r}; allowed: {allowed}"
        )
    return parts[0], parts[1], Role(role)
