"""More dashboard forms: alert grid, bulk revoke, issuers, owners with errors, agents."""

from __future__ import annotations

import re

from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.certificates import CertificateStatus
from certctl.domain.inventory import Agent, AgentStatus
from certctl.domain.listing import PageRequest, SortKey

from .conftest import Estate, SignedIn


async def test_detail_page_grids_alerts_by_threshold_and_channel(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """After a scan, the detail page has a row per crossed threshold, a column per channel."""
    cert = await estate.certificate("web", 3)
    await ctx.alerts.scan()
    html = (await (await signed_in("viewer")).get(f"/certificates/{cert.id}")).text
    rows = re.findall(
        r'<tr data-threshold="(\d+)">\s*<th scope="row">T-\d+</th>\s*<td data-label="Email">(.*?)</td>',
        html,
        re.S,
    )
    assert [(t, re.sub(r"<[^>]+>", " ", cell).split()[0]) for t, cell in rows] == [
        ("30", "pending"),
        ("14", "pending"),
        ("7", "pending"),
    ]
    assert re.search(r'<th scope="col">Threshold</th><th scope="col">Email</th></tr>', html)


async def test_bulk_revoke_by_an_admin_revokes_the_ticked(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """An admin's bulk revoke revokes each ticked certificate with the chosen reason."""
    first = await estate.certificate("one", 40)
    second = await estate.certificate("two", 40)
    answer = await (await signed_in("admin")).post(
        "/certificates/bulk",
        {
            "action": "revoke",
            "reason": "cessationOfOperation",
            "certificate_ids": [first.id, second.id],
        },
    )
    after = [await ctx.certificates.get(SYSTEM_CALLER, c.id) for c in (first, second)]
    assert answer.status_code == 200
    assert [(c.status, c.revocation_reason) for c in after] == [
        (CertificateStatus.REVOKED, "cessationOfOperation")
    ] * 2


async def test_bulk_action_without_a_ticked_certificate_is_refused(signed_in: SignedIn) -> None:
    """Submitting a bulk action with nothing ticked answers 400 naming the mistake."""
    answer = await (await signed_in("operator")).post("/certificates/bulk", {"action": "renew"})
    assert answer.status_code == 400
    assert "tick at least one certificate" in answer.text


async def test_new_issuer_is_created_from_its_type_form(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """The ACME form creates a (disabled) issuer with its typed config and its secret sealed."""
    browser = await signed_in("operator")
    form = await browser.get("/issuers/new", type="ACME")
    answer = await browser.post(
        "/issuers",
        {
            "type": "ACME",
            "name": "Let's Encrypt",
            "config.directory_url": "https://acme.invalid/directory",
            "config.email": "pki@example.com",
            "config.terms_agreed": "true",
            "config.eab_hmac_key": "hmac-secret",
            "config.challenge_type": "http-01",
        },
    )
    created = await ctx.issuers.search(
        SYSTEM_CALLER, request=PageRequest(), sort=SortKey("name"), q="Encrypt"
    )
    issuer = created.items[0]
    assert 'name="config.eab_kid"' in form.text
    assert answer.headers["location"] == f"/issuers/{issuer.id}?flash=created"
    assert dict(issuer.config) == {
        "directory_url": "https://acme.invalid/directory",
        "email": "pki@example.com",
        "terms_agreed": "true",
        "eab_hmac_key": "********",
        "challenge_type": "http-01",
    }


async def test_issuer_form_errors_are_shown(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """A number field holding text is named on the re-shown form; nothing is created."""
    answer = await (await signed_in("operator")).post(
        "/issuers",
        {"type": "ACME", "name": "Slow CA", "config.order_timeout_seconds": "soon"},
    )
    listed = await ctx.issuers.search(SYSTEM_CALLER, request=PageRequest(), sort=SortKey("name"))
    assert answer.status_code == 400
    assert "must be a whole number" in answer.text
    assert [i.name for i in listed.items] == ["Local CA"]


async def test_owner_form_errors_are_shown_next_to_the_field(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """An invalid e-mail address is shown under the field and no owner is added."""
    answer = await (await signed_in("operator")).post(
        "/owners", {"owner_name": "Dee", "email": "not-an-address", "team_id": ""}
    )
    owners = await ctx.owners.search(SYSTEM_CALLER, request=PageRequest(), sort=SortKey("name"))
    assert answer.status_code == 400
    assert re.search(r'id="f-email-error">[^<]*is not a valid email address', answer.text)
    assert [o.name for o in owners.items] == ["Ann Lee"]


async def test_team_without_a_name_is_refused(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """An empty team name is refused with the field marked invalid."""
    answer = await (await signed_in("operator")).post("/teams", {"name": "", "description": ""})
    assert answer.status_code == 400
    assert 'id="team-name" name="name" value="" required aria-invalid="true"' in answer.text


async def test_agent_is_retired_with_a_reason(ctx: AppContext, signed_in: SignedIn) -> None:
    """Retire on the Agents page retires the agent with the reason typed."""
    now = ctx.clock.now()
    async with ctx.runtime.db.uow() as uow:
        await uow.agents.add(
            Agent(
                id="ag-web-1",
                name="web-1",
                created_at=now,
                updated_at=now,
                status=AgentStatus.ONLINE,
            )
        )
    browser = await signed_in("operator")
    listed = await browser.get("/agents")
    answer = await browser.post("/agents/ag-web-1/retire", {"reason": "host decommissioned"})
    agent = await ctx.agents.get(SYSTEM_CALLER, "ag-web-1")
    assert "web-1" in listed.text
    assert answer.headers["location"] == "/agents?flash=retired"
    assert (agent.retired_reason, agent.status) == ("host decommissioned", AgentStatus.OFFLINE)


async def test_test_connection_shows_the_result_on_the_issuer_page(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """The issuer page's Test connection button runs the test and shows its outcome."""
    browser = await signed_in("operator")
    [local] = (
        await ctx.issuers.search(SYSTEM_CALLER, request=PageRequest(), sort=SortKey("name"))
    ).items
    page = await browser.get(f"/issuers/{local.id}")
    assert f'action="/issuers/{local.id}/test"' in page.text
    answer = await browser.post(f"/issuers/{local.id}/test", {})
    assert answer.status_code == 200
    result = re.search(r'data-testid="issuer-test-result">([^<]*)<', answer.text)
    assert result is not None
    assert result.group(1).startswith("Connection test passed: local CA CN=")
    after = await ctx.issuers.get(SYSTEM_CALLER, local.id)
    assert after.test_status == "passed"


async def test_a_viewer_sees_no_test_connection_button(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """Testing records a result, so only writers get the button."""
    [local] = (
        await ctx.issuers.search(SYSTEM_CALLER, request=PageRequest(), sort=SortKey("name"))
    ).items
    page = await (await signed_in("viewer")).get(f"/issuers/{local.id}")
    assert "/test" not in page.text


async def test_the_issuer_list_shows_non_text_config_values(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """Booleans and numbers in a config (terms_agreed, order_timeout_seconds) are listed."""
    await ctx.issuers.create(
        SYSTEM_CALLER,
        {
            "name": "LE",
            "type": "ACME",
            "enabled": False,
            "config": {
                "directory_url": "https://acme.invalid/dir",
                "terms_agreed": True,
                "order_timeout_seconds": 120,
            },
        },
    )
    page = await (await signed_in("viewer")).get("/issuers")
    assert page.status_code == 200
    assert "terms_agreed=True" in page.text
    assert "order_timeout_seconds=120" in page.text
