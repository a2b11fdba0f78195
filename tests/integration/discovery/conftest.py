"""Discovery tests probe loopback servers, so private ranges are allowed here."""

from __future__ import annotations

import pytest

from certctl.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings with CERTCTL_ALLOW_PRIVATE_TARGETS on."""
    return settings.model_copy(update={"allow_private_targets": True})
