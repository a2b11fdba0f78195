"""The agent's state file: its id and credential, written 0600 in a 0700 directory."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_FILE = "agent.json"


@dataclass(frozen=True)
class AgentIdentity:
    """Who the agent is for one server: its id and credential."""

    server_url: str
    agent_id: str
    credential: str


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) if needed and make it 0700."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically, readable by the owner only (0600)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


class StateFile:
    """The identity the agent registered with, kept across restarts."""

    def __init__(self, state_dir: Path) -> None:
        self.path = private_dir(state_dir) / STATE_FILE

    def load(self, server_url: str) -> AgentIdentity | None:
        """The saved identity for this server, or None (first start, or another server)."""
        if not self.path.exists():
            return None
        data = json.loads(self.path.read_text())
        identity = AgentIdentity(
            server_url=str(data["server_url"]),
            agent_id=str(data["agent_id"]),
            credential=str(data["credential"]),
        )
        return identity if identity.server_url == server_url.rstrip("/") else None

    def save(self, identity: AgentIdentity) -> None:
        """Keep the identity (0600)."""
        write_private(self.path, json.dumps(asdict(identity), indent=2) + "\n")
