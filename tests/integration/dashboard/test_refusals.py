"""What the dashboard refuses: POSTs without the session's CSRF token, and writes by viewers."""

from __future__ import annotations

import html

import pytest

from certctl.bootstrap import AppContext
from certctl.domain.access import SYSTEM_CALLER
from certctl.domain.audit import AuditFilter
from certctl.domain.certificates import CertificateStatus
from certctl.domain.listing import PageRequest

from .conftest import Estate, SignedIn


async def _status(ctx: AppContext, cert_id: str) -> CertificateStatus:
    return (await ctx.certificates.get(SYSTEM_CALLER, cert_id)).status


async def test_post_without_csrf_token_is_refused(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """A revoke POST without the token answers 403 and changes nothing."""
    cert = await estate.certificate("web", 60)
    browser = await signed_in("admin")
    answer = await browser.post(
        f"/certificates/{cert.id}/revoke", {"reason": "keyCompromise"}, csrf=False
    )
    assert answer.status_code == 403
    assert "CSRF token is missing or wrong" in answer.text
    assert await _status(ctx, cert.id) is CertificateStatus.ACTIVE


async def test_csrf_token_of_another_session_is_refused(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """Tokens are bound to their session: one browser's token does not work in another."""
    cert = await estate.certificate("web", 60)
    mine, theirs = await signed_in("admin"), await signed_in("admin")
    mine.csrf = theirs.csrf
    answer = await mine.post(f"/certificates/{cert.id}/revoke", {"reason": "superseded"})
    assert answer.status_code == 403
    assert await _status(ctx, cert.id) is CertificateStatus.ACTIVE


async def test_viewer_write_is_refused_with_a_403_page(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """A viewer's forged revoke (valid token) gets the 403 page and a denied audit row."""
    cert = await estate.certificate("web", 60)
    browser = await signed_in("viewer")
    answer = await browser.post(f"/certificates/{cert.id}/revoke", {"reason": "superseded"})
    denied = await ctx.audit.search(
        SYSTEM_CALLER,
        request=PageRequest(),
        filters=AuditFilter(action="dashboard_action_denied"),
    )
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    assert "role 'viewer' may not perform 'write' actions" in html.unescape(answer.text)
    assert await _status(ctx, cert.id) is CertificateStatus.ACTIVE
    assert [(e.actor, e.status.value) for e in denied.items] == [("viewer-user", "denied")]


@pytest.mark.parametrize(
    ("path", "marker"),
    [
        ("/certificates", 'data-testid="bulk-renew"'),
        ("/certificates/{cert}", 'data-testid="revoke"'),
        ("/policies/rp-web", 'data-testid="save-policy"'),
        ("/teams", 'action="/teams"'),
        ("/notifications", "Action</th>"),
        ("/jobs", "Actions</th>"),
    ],
)
async def test_viewer_sees_no_write_controls(
    estate: Estate, signed_in: SignedIn, path: str, marker: str
) -> None:
    """Pages shown to a viewer carry none of the controls an operator gets."""
    cert = await estate.certificate("web", 60)
    url = path.format(cert=cert.id)
    viewer, operator = await signed_in("viewer"), await signed_in("operator")
    assert marker in (await operator.get(url)).text
    assert marker not in (await viewer.get(url)).text


async def test_bulk_revoke_is_for_admins_only(
    ctx: AppContext, estate: Estate, signed_in: SignedIn
) -> None:
    """An operator may renew in bulk but a bulk revoke answers 403."""
    cert = await estate.certificate("web", 60)
    browser = await signed_in("operator")
    answer = await browser.post(
        "/certificates/bulk",
        {"action": "revoke", "reason": "superseded", "certificate_ids": [cert.id]},
    )
    assert answer.status_code == 403
    assert await _status(ctx, cert.id) is CertificateStatus.ACTIVE


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("auditor", "/audit", 200),
        ("auditor", "/certificates", 403),
        ("viewer", "/audit", 200),
        ("viewer", "/policies/new", 403),
        ("operator", "/policies/new", 200),
    ],
)
async def test_pages_follow_the_role(
    estate: Estate, signed_in: SignedIn, role: str, path: str, status: int
) -> None:
    """Each role reaches exactly the pages its permissions allow."""
    browser = await signed_in(role)
    assert (await browser.get(path)).status_code == status


async def test_auditor_home_is_the_audit_page(signed_in: SignedIn) -> None:
    """An auditor, who cannot read certificates, is sent from the home page to the audit."""
    answer = await (await signed_in("auditor")).get("/")
    assert (answer.status_code, answer.headers["location"]) == (303, "/audit")
