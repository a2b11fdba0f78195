"""The bridge from the agent's work to the deploy library (certctl.connectors.targets)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from certctl.agent.work import DeployRefused
from certctl.domain.inventory import TargetType

LIBRARY = "certctl.connectors.targets"


async def deploy_with_library(
    target_type: TargetType,
    config: Mapping[str, Any],
    *,
    cert_pem: str,
    chain_pem: str,
    key_pem: str,
    backup_dir: Path,
) -> str | None:
    """Deploy through the library; its DeployFailed becomes DeployRefused with the reason."""
    try:
        targets: Any = importlib.import_module(LIBRARY)
    except ModuleNotFoundError as exc:
        raise DeployRefused(f"this agent has no deploy library ({LIBRARY})") from exc
    bundle = targets.DeployBundle(cert_pem=cert_pem, chain_pem=chain_pem, key_pem=key_pem)
    try:
        outcome = await targets.deploy(target_type, config, bundle, backup_dir=backup_dir)
    except targets.DeployFailed as exc:
        suffix = " (rolled back)" if exc.rolled_back else ""
        raise DeployRefused(f"{exc.reason}{suffix}") from exc
    served: str | None = outcome.served_sha256
    return served
