"""Dashboard user rules: usernames, passwords, roles and session tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest

from certctl.domain.access import Role
from certctl.domain.users import (
    SESSION_LIFETIME,
    DashboardSession,
    SessionKind,
    can_use_dashboard,
    check_password,
    check_username,
    new_token,
    session_id,
)
from certctl.errors import InvalidRequest
from certctl.testing.clock import TEST_EPOCH


@pytest.mark.parametrize("name", ["dana", "d", "ops.team", "first_last", "a-b", "ann@example.com"])
def test_usernames_accepted(name: str) -> None:
    """Lower-case names of letters, digits and . _ @ - are accepted as given."""
    assert check_username(name) == name


@pytest.mark.parametrize("name", ["", "Dana", "-dana", ".x", "has space", "x" * 65, "a/b"])
def test_usernames_refused(name: str) -> None:
    """Capitals, leading punctuation, spaces, slashes and 65+ characters are refused."""
    with pytest.raises(InvalidRequest) as caught:
        check_username(name)
    assert caught.value.field == "username"


def test_passwords_need_twelve_characters() -> None:
    """Eleven characters are too few; twelve are enough."""
    assert check_password("x" * 12) == "x" * 12
    with pytest.raises(InvalidRequest, match="at least 12 characters"):
        check_password("x" * 11)


@pytest.mark.parametrize("password", ["x" * 1025, "twelve chars\x00"])
def test_passwords_refused_when_too_long_or_with_nul(password: str) -> None:
    """More than 1024 characters, or a NUL character, is refused naming `password`."""
    with pytest.raises(InvalidRequest) as caught:
        check_password(password)
    assert caught.value.field == "password"


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.ADMIN, True),
        (Role.OPERATOR, True),
        (Role.VIEWER, True),
        (Role.AUDITOR, True),
        (Role.AGENT, False),
    ],
)
def test_roles_that_can_use_the_dashboard(role: Role, allowed: bool) -> None:
    """Every role that can read something may sign in; the agent role may not."""
    assert can_use_dashboard(role) is allowed


def test_session_expires_at_its_end() -> None:
    """A session is live until its expiry instant, and over from that instant on."""
    session = DashboardSession(
        id=session_id("token"),
        kind=SessionKind.USER,
        subject="u-1",
        principal_name="dana",
        role=Role.VIEWER,
        csrf_token="csrf",
        created_at=TEST_EPOCH,
        expires_at=TEST_EPOCH + SESSION_LIFETIME,
    )
    assert not session.expired(TEST_EPOCH + SESSION_LIFETIME - timedelta(seconds=1))
    assert session.expired(TEST_EPOCH + SESSION_LIFETIME)


def test_tokens_are_random_and_stored_hashed() -> None:
    """Tokens are 43 URL-safe characters, never repeat, and are stored as hex SHA-256."""
    first, second = new_token(), new_token()
    assert len(first) == 43
    assert first != second
    assert session_id("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
