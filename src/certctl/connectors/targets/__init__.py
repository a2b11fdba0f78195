"""File-based deployment targets: the deploy primitive and what it takes and returns (C7)."""

from certctl.connectors.targets.files import DeployFailed, DeployOutcome, deploy
from certctl.connectors.targets.layout import DeployBundle

__all__ = ["DeployBundle", "DeployFailed", "DeployOutcome", "deploy"]
