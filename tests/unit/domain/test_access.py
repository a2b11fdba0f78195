"""Roles, principals, the role → permission grants and API key hashing (C10)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from certctl.domain.access import (
    ANONYMOUS_DEMO,
    API_KEY_PREFIX,
    MIN_CONFIGURED_KEY_LENGTH,
    SYSTEM,
    SYSTEM_CALLER,
    ActorType,
    Caller,
    Permission,
    Principal,
    Role,
    generate_api_key,
    hash_api_key,
    key_matches,
    parse_named_keys,
)
from certctl.errors import ConfigurationError, PermissionDenied

R, P = Role, Permission
KEY_A = "alice-key-0123456789"
KEY_B = "bob-key-000000000000"
ALL_ROLES = "admin, operator, viewer, agent, auditor"
GRANTS: dict[tuple[Role, Permission], bool] = {
    (R.ADMIN, P.READ): True,
    (R.ADMIN, P.WRITE): True,
    (R.ADMIN, P.READ_AUDIT): True,
    (R.ADMIN, P.ADMIN): True,
    (R.OPERATOR, P.READ): True,
    (R.OPERATOR, P.WRITE): True,
    (R.OPERATOR, P.READ_AUDIT): True,
    (R.OPERATOR, P.ADMIN): False,
    (R.VIEWER, P.READ): True,
    (R.VIEWER, P.WRITE): False,
    (R.VIEWER, P.READ_AUDIT): True,
    (R.VIEWER, P.ADMIN): False,
    (R.AUDITOR, P.READ): False,
    (R.AUDITOR, P.WRITE): False,
    (R.AUDITOR, P.READ_AUDIT): True,
    (R.AUDITOR, P.ADMIN): False,
    (R.AGENT, P.READ): False,
    (R.AGENT, P.WRITE): False,
    (R.AGENT, P.READ_AUDIT): False,
    (R.AGENT, P.ADMIN): False,
}
GRANTED = [pair for pair, ok in GRANTS.items() if ok]
DENIED = [pair for pair, ok in GRANTS.items() if not ok]


def test_grant_matrix_covers_every_role_and_permission() -> None:
    """The expected matrix in this module lists every (role, permission) pair once."""
    assert set(GRANTS) == {(r, p) for r in Role for p in Permission}


def test_role_values_are_the_spec_spellings() -> None:
    """Roles are exactly admin, operator, viewer, agent and auditor."""
    assert [r.value for r in Role] == ["admin", "operator", "viewer", "agent", "auditor"]


def test_actor_type_values_are_the_audit_spellings() -> None:
    """Actor types are exactly User, System and Agent."""
    assert [a.value for a in ActorType] == ["User", "System", "Agent"]


def test_permission_values() -> None:
    """Permissions are exactly read, write, read_audit and admin."""
    assert [p.value for p in Permission] == ["read", "write", "read_audit", "admin"]


@pytest.mark.parametrize(("role", "permission"), list(GRANTS))
def test_can_follows_grant_matrix(role: Role, permission: Permission) -> None:
    """Principal.can answers from the role's grants."""
    assert Principal(name="k", role=role).can(permission) is GRANTS[(role, permission)]


@pytest.mark.parametrize(("role", "permission"), GRANTED)
def test_require_passes_when_granted(role: Role, permission: Permission) -> None:
    """Principal.require returns quietly for a granted permission."""
    assert Principal(name="k", role=role).require(permission) is None


@pytest.mark.parametrize(("role", "permission"), DENIED)
def test_require_refuses_naming_role_and_permission(role: Role, permission: Permission) -> None:
    """Principal.require raises PermissionDenied naming the role and the permission."""
    with pytest.raises(PermissionDenied) as caught:
        Principal(name="k", role=role).require(permission)
    assert caught.value.detail == (
        f"role {role.value!r} may not perform {permission.value!r} actions"
    )


def test_principal_defaults_to_user_actor() -> None:
    """A principal is a User actor unless told otherwise."""
    assert Principal(name="alice", role=Role.VIEWER).actor_type is ActorType.USER


def test_principal_is_immutable() -> None:
    """Principal is a frozen value object."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        SYSTEM.role = Role.VIEWER  # type: ignore[misc]


def test_system_principal_is_admin_system_actor() -> None:
    """The built-in system principal is an admin recorded as a System actor."""
    assert Principal(name="system", role=Role.ADMIN, actor_type=ActorType.SYSTEM) == SYSTEM


def test_system_caller_wraps_system_without_request() -> None:
    """SYSTEM_CALLER is the system principal with no request id."""
    assert Caller(principal=SYSTEM, request_id=None) == SYSTEM_CALLER


def test_anonymous_demo_is_admin_user() -> None:
    """The demo principal is an admin recorded as a User actor."""
    assert Principal(name="anonymous-demo", role=Role.ADMIN) == ANONYMOUS_DEMO


def test_generated_api_key_has_prefix_and_256_bit_urlsafe_body() -> None:
    """A generated key is `cc_` followed by 43 URL-safe base64 characters (32 bytes)."""
    key = generate_api_key()
    assert API_KEY_PREFIX == "cc_"
    assert re.fullmatch(r"cc_[A-Za-z0-9_-]{43}", key) is not None


def test_generated_api_keys_are_unique() -> None:
    """Two hundred generated keys are all different."""
    assert len({generate_api_key() for _ in range(200)}) == 200


def test_hash_api_key_is_hex_sha256() -> None:
    """The stored form of a key is its lowercase hex SHA-256 (FIPS 180-2 `abc` vector)."""
    assert hash_api_key("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_key_matches_its_own_hash() -> None:
    """A key matches the hash computed from it."""
    key = generate_api_key()
    assert key_matches(key, hash_api_key(key)) is True


def test_key_does_not_match_another_keys_hash() -> None:
    """A key does not match the hash of a different key."""
    assert key_matches("cc_one", hash_api_key("cc_two")) is False


def test_key_does_not_match_empty_hash() -> None:
    """A key never matches an empty stored hash."""
    assert key_matches("cc_one", "") is False


def _config_error(spec: str, *, demo: bool = False) -> str:
    with pytest.raises(ConfigurationError) as caught:
        parse_named_keys(spec, demo=demo)
    return caught.value.detail


def test_named_key_maps_hash_to_principal() -> None:
    """`name:key:role` becomes the key's hash mapped to a principal with that name and role."""
    assert parse_named_keys(f"alice:{KEY_A}:admin") == {
        hash_api_key(KEY_A): Principal(name="alice", role=Role.ADMIN)
    }


def test_named_key_role_defaults_to_operator() -> None:
    """`name:key` without a role gives an operator."""
    assert parse_named_keys(f"ci:{KEY_A}") == {
        hash_api_key(KEY_A): Principal(name="ci", role=Role.OPERATOR)
    }


def test_named_keys_skip_blanks_and_surrounding_spaces() -> None:
    """Entries are trimmed and empty entries (doubled or trailing commas) are skipped."""
    assert parse_named_keys(f" alice:{KEY_A}:viewer , ,bob:{KEY_B}:auditor, ") == {
        hash_api_key(KEY_A): Principal(name="alice", role=Role.VIEWER),
        hash_api_key(KEY_B): Principal(name="bob", role=Role.AUDITOR),
    }


@pytest.mark.parametrize("spec", ["", " ", ",,"])
def test_empty_named_keys_spec_gives_no_keys(spec: str) -> None:
    """A blank spec configures no keys."""
    assert parse_named_keys(spec) == {}


@pytest.mark.parametrize("role", list(Role))
def test_named_key_accepts_every_role(role: Role) -> None:
    """Each role spelling is accepted as the third part."""
    assert parse_named_keys(f"k:{KEY_A}:{role.value}")[hash_api_key(KEY_A)].role is role


def test_short_named_key_is_refused_outside_demo() -> None:
    """A key under 16 characters is refused, naming the entry and name but not the key."""
    detail = _config_error(f"alice:{KEY_A},bob:changeme")
    assert (MIN_CONFIGURED_KEY_LENGTH, detail) == (
        16,
        "CERTCTL_API_KEYS_NAMED entry 2 (bob): keys need 16+ characters",
    )


def test_short_named_key_is_allowed_in_demo() -> None:
    """In demo mode a short placeholder key is accepted."""
    assert parse_named_keys("demo:changeme", demo=True) == {
        hash_api_key("changeme"): Principal(name="demo", role=Role.OPERATOR)
    }


def test_sixteen_character_key_is_long_enough() -> None:
    """A key of exactly 16 characters is accepted."""
    assert list(parse_named_keys("k:" + "x" * 16)) == [hash_api_key("x" * 16)]


@pytest.mark.parametrize(
    "entry", ["alice", "alice:", ":" + KEY_A, "alice::admin", f"a:{KEY_A}:admin:extra"]
)
def test_malformed_named_key_is_refused_naming_position(entry: str) -> None:
    """An entry that is not `name:key` or `name:key:role` is refused by its position."""
    assert _config_error(f"ok:{KEY_B},{entry}") == (
        "CERTCTL_API_KEYS_NAMED entry 2 must be name:key or name:key:role"
    )


@pytest.mark.parametrize("role", ["root", "Admin", ""])
def test_unknown_named_key_role_is_refused_listing_roles(role: str) -> None:
    """A role outside the enum (case-sensitive) is refused, listing the allowed roles."""
    assert _config_error(f"alice:{KEY_A}:{role}") == (
        f"CERTCTL_API_KEYS_NAMED entry 1 has unknown role {role!r}; allowed: {ALL_ROLES}"
    )


def test_duplicate_named_key_name_is_refused() -> None:
    """The same name given twice is refused."""
    assert _config_error(f"alice:{KEY_A},alice:{KEY_B}") == (
        "CERTCTL_API_KEYS_NAMED names 'alice' twice"
    )


def test_same_key_under_two_names_is_refused() -> None:
    """One key configured for two names would make the audit actor ambiguous."""
    with pytest.raises(ConfigurationError, match="already in use"):
        parse_named_keys("alice:0123456789abcdef,bob:0123456789abcdef")
