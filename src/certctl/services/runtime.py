"""What every service needs: the database, the clock and the secret sealer."""

from __future__ import annotations

from dataclasses import dataclass, field

from certctl.clock import Clock
from certctl.db.database import Database
from certctl.domain.alert_lifecycle import AlertingRules
from certctl.pki.sealing import Sealer


@dataclass(frozen=True)
class Runtime:
    """Shared collaborators handed to each service by the composition root."""

    db: Database
    clock: Clock
    sealer: Sealer | None = None
    alerting: AlertingRules = field(default_factory=AlertingRules)
