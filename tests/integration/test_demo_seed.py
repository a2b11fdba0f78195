"""The demo estate goes through the services and covers every certificate status."""

from __future__ import annotations

from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.certificates import CertificateFilter
from certctl.domain.listing import PageRequest, SortKey
from certctl.services.demo import DemoSeeder


def _seeder(ctx: AppContext) -> DemoSeeder:
    return DemoSeeder(
        now=ctx.clock.now(),
        inventory={
            "teams": ctx.teams,
            "owners": ctx.owners,
            "profiles": ctx.profiles,
            "policies": ctx.policies,
            "issuers": ctx.issuers,
            "targets": ctx.targets,
            "channels": ctx.channels,
        },
        certificates=ctx.certificates,
        jobs=ctx.jobs,
        agents=ctx.agents,
    )


async def test_seed_creates_thirty_certificates_in_every_status(ctx: AppContext) -> None:
    """30 certificates, each of the eight statuses at least once, and the matching counts."""
    assert await _seeder(ctx).seed() == 30
    summary = await ctx.stats.summary(SYSTEM_CALLER)
    assert summary.total_certificates == 30
    assert summary.certificates_by_status == {
        "Pending": 2,
        "Active": 10,
        "Expiring": 7,
        "Expired": 3,
        "RenewalInProgress": 2,
        "Failed": 2,
        "Revoked": 2,
        "Archived": 2,
    }


async def test_seed_is_idempotent(ctx: AppContext) -> None:
    """A second run creates nothing."""
    await _seeder(ctx).seed()
    assert await _seeder(ctx).seed() == 0
    page = await ctx.certificates.search(
        SYSTEM_CALLER,
        request=PageRequest(per_page=100),
        sort=SortKey("name"),
        filters=CertificateFilter(include_archived=True),
    )
    assert page.total == 30


async def test_seeded_actions_are_audited_as_system(ctx: AppContext) -> None:
    """Every seeded change is in the audit trail with the System actor."""
    await _seeder(ctx).seed()
    from certctl.services.audit import AuditFilter

    page = await ctx.audit.search(
        SYSTEM_CALLER,
        request=PageRequest(per_page=500),
        filters=AuditFilter(action="certificate_revoked"),
    )
    assert page.total == 2
    assert {e.actor_type.value for e in page.items} == {"System"}


async def test_seed_leaves_jobs_in_the_states_an_operator_meets(ctx: AppContext) -> None:
    """One job per interesting state, three agents, and one leaf from the local CA."""
    await _seeder(ctx).seed()
    summary = await ctx.stats.summary(SYSTEM_CALLER)
    assert summary.jobs_by_status == {
        "Pending": 1,
        "AwaitingCSR": 0,
        "AwaitingApproval": 1,
        "Running": 0,
        "Completed": 1,
        "Failed": 1,
        "Cancelled": 1,
    }
    assert (summary.agents_total, summary.agents_online) == (3, 2)
    versions = await ctx.certificates.versions(SYSTEM_CALLER, "mc-registry-int")
    assert [v.issuer_dn for v in versions] == ["CN=Local CA"]
