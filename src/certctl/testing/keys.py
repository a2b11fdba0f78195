"""API keys for tests: one named key per role, long enough for non-demo settings."""

from __future__ import annotations

KEYS = {
    "admin": "admin-key-0000000000",
    "operator": "operator-key-000000",
    "viewer": "viewer-key-00000000",
    "auditor": "auditor-key-0000000",
    "agent": "agent-key-000000000",
}
NAMED_KEYS = ",".join(f"{role}-user:{key}:{role}" for role, key in KEYS.items())
