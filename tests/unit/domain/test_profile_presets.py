"""The cabf-serverauth profile preset keeps the rest of the profile to its promises."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from certctl.domain.policies import (
    CABF_MAX_TTL_SECONDS,
    CABF_SERVERAUTH,
    CertificateProfile,
    KeyAlgorithmRule,
    check_profile,
)
from certctl.errors import InvalidRequest

NOW = datetime(2026, 6, 1, tzinfo=UTC)
CABF = CertificateProfile(
    id="prof-cabf",
    name="public-hygiene",
    created_at=NOW,
    updated_at=NOW,
    preset=CABF_SERVERAUTH,
    max_ttl_seconds=CABF_MAX_TTL_SECONDS,
)


def _fields(profile: CertificateProfile) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRequest) as caught:
        check_profile(profile)
    return [(e.field, e.message) for e in caught.value.errors]


def test_cabf_preset_with_398_days_serverauth_and_ec_rsa_keys_is_accepted() -> None:
    """The preset's own defaults pass the check."""
    check_profile(CABF)


@pytest.mark.parametrize("ttl", [0, CABF_MAX_TTL_SECONDS + 1])
def test_cabf_preset_needs_a_validity_of_at_most_398_days(ttl: int) -> None:
    """No limit (0) or more than 398 days is refused on max_ttl_seconds."""
    assert _fields(replace(CABF, max_ttl_seconds=ttl)) == [
        ("max_ttl_seconds", "must be 1 to 34387200 seconds (398 days) under cabf-serverauth")
    ]


def test_cabf_preset_allows_only_server_and_client_auth() -> None:
    """codeSigning next to serverAuth is refused on allowed_ekus."""
    assert _fields(replace(CABF, allowed_ekus=("serverAuth", "codeSigning"))) == [
        ("allowed_ekus", "must be serverAuth (and optionally clientAuth) under cabf-serverauth")
    ]


def test_cabf_preset_refuses_ed25519_keys() -> None:
    """BR 6.1.5 knows RSA and ECDSA keys only."""
    rules = (KeyAlgorithmRule("ECDSA", 256), KeyAlgorithmRule("Ed25519"))
    assert _fields(replace(CABF, allowed_key_algorithms=rules)) == [
        (
            "allowed_key_algorithms[1].algorithm",
            "Ed25519 keys are not allowed under cabf-serverauth",
        )
    ]


def test_unknown_preset_is_refused() -> None:
    """Only the empty preset and cabf-serverauth exist."""
    assert _fields(replace(CABF, preset="etsi")) == [
        ("preset", "unknown preset 'etsi'; allowed: cabf-serverauth")
    ]
