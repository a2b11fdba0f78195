"""The bridge from the agent's work to the deploy library (certctl.connectors.targets)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from certctl.agent.work import DeployRefused
from certctl.connectors.targets import DeployBundle, DeployFailed, deploy
from certctl.domain.inventory import TargetType


async def deploy_with_library(
    target_type: TargetType,
    config: Mapping[str, Any],
    *,
    cert_pem: str,
    chain_pem: str,
    key_pem: str,
    backup_dir: Path,
) -> str | None:
    """Deploy through the library; the served leaf's SHA-256 when the target checks it.

    The library's DeployFailed becomes DeployRefused carrying its reason, with
    "(rolled back)" when the previous files were restored.
    """
    bundle = DeployBundle(cert_pem=cert_pem, chain_pem=chain_pem, key_pem=key_pem)
    try:
        outcome = await deploy(target_type, config, bundle, backup_dir=backup_dir)
    except DeployFailed as exc:
        suffix = " (rolled back)" if exc.rolled_back else ""
        raise DeployRefused(f"{exc.reason}{suffix}") from exc
    return outcome.served_sha256
