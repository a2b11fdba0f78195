"""The agent's state file: saved 0600 in a 0700 directory, read back for the same server."""

from __future__ import annotations

import stat
from pathlib import Path

from certctl.agent.state import AgentIdentity, StateFile

IDENTITY = AgentIdentity("https://certctl.example", "agent-1", "cca_secret")


def test_an_identity_is_saved_private_and_read_back(tmp_path: Path) -> None:
    """0700 directory, 0600 file, the same identity on load."""
    state = StateFile(tmp_path / "state")
    state.save(IDENTITY)
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    assert stat.S_IMODE(state.path.stat().st_mode) == 0o600
    assert state.load("https://certctl.example/") == IDENTITY


def test_nothing_is_loaded_before_the_first_registration(tmp_path: Path) -> None:
    """No file: None."""
    assert StateFile(tmp_path).load("https://certctl.example") is None


def test_an_identity_for_another_server_is_not_used(tmp_path: Path) -> None:
    """Pointing the agent at another server means registering there."""
    state = StateFile(tmp_path)
    state.save(IDENTITY)
    assert state.load("https://other.example") is None


def test_an_existing_open_directory_is_made_private(tmp_path: Path) -> None:
    """A 0755 state directory becomes 0700."""
    (tmp_path / "state").mkdir(mode=0o755)
    StateFile(tmp_path / "state")
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
