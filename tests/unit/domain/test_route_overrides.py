"""Routing overrides: validation naming the field, and the most specific one winning."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from certctl.domain.route_overrides import RouteOverride, check_override, pick
from certctl.errors import InvalidRequest

T0 = datetime(2026, 6, 1, tzinfo=UTC)
TEAM = RouteOverride(
    id="ro-team",
    name="team slack",
    channel="Slack",
    created_at=T0,
    updated_at=T0,
    team_id="t-plat",
    config={"webhook_url": "https://hooks.example.com/team"},
)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"team_id": None}, "team_id"),
        ({"owner_id": "o-alice"}, "team_id"),
        ({"tier": "urgent"}, "tier"),
        ({"config": {"routing_key": "k"}}, "config.routing_key"),
        ({"config": {}}, "config"),
        ({"channel": "Email", "config": {"recipients": []}}, "config.recipients"),
        ({"channel": "Email", "config": {"recipients": "a@example.com"}}, "config.recipients"),
        (
            {"channel": "Email", "config": {"recipients": ["a@example.com", "b"]}},
            "config.recipients[1]",
        ),
    ],
)
def test_invalid_overrides_name_the_field(changes: dict[str, object], field: str) -> None:
    """No or two scopes, an unknown tier, another channel's field or bad recipients is refused."""
    with pytest.raises(InvalidRequest) as caught:
        check_override(replace(TEAM, **changes))  # type: ignore[arg-type]
    assert caught.value.field == field


def test_valid_overrides() -> None:
    """A team Slack override and an owner Email override for one tier are accepted."""
    check_override(TEAM)
    email = replace(
        TEAM,
        channel="Email",
        team_id=None,
        owner_id="o-alice",
        tier="critical",
        config={"recipients": ["a@example.com"]},
    )
    check_override(email)
    assert (TEAM.scope, email.scope) == ("team t-plat", "owner o-alice")


def test_most_specific_override_wins() -> None:
    """Owner before team, a named tier before every tier; disabled and other channels never."""
    team_tier = replace(TEAM, id="ro-team-crit", name="b", tier="critical")
    owner_any = replace(TEAM, id="ro-owner", name="c", team_id=None, owner_id="o-alice")
    disabled = replace(TEAM, id="ro-off", name="a", owner_id="o-alice", team_id=None, enabled=False)
    teams = replace(TEAM, id="ro-teams", channel="Teams")
    others = [TEAM, team_tier, disabled, teams]

    def chosen(*candidates: RouteOverride, tier: str = "critical", owner: str = "o-alice") -> str:
        found = pick(candidates, channel="Slack", tier=tier, owner_id=owner, team_id="t-plat")
        return found.id if found else "-"

    assert chosen(*others, owner_any) == "ro-owner"
    assert chosen(*others) == "ro-team-crit"
    assert chosen(*others, tier="warning") == "ro-team"
    assert chosen(teams, disabled) == "-"
    assert chosen(replace(TEAM, team_id="t-other")) == "-"
