"""ACME Renewal Information (RFC 9773) on the wire: the renewalInfo GET and `replaces`.

The `acme` package's `new_order` has no `replaces` field, so the order is posted here with
a message that adds it (section 5). The renewalInfo resource is a plain, unauthenticated GET
of `{renewalInfo}/{certID}` (section 4.1).
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx
from acme import client as acme_client
from acme import messages
from josepy.json_util import field as jose_field

from certctl.connectors.issuers.acme_network import KIND, ca_bundle_path
from certctl.connectors.issuers.base import RenewalWindow
from certctl.connectors.ssrf import check_url_async
from certctl.domain.renewal_info import parse_renewal_info
from certctl.errors import CAUnavailable, ConnectorError, InvalidRequest
from certctl.pki.csr import parse_csr
from certctl.pki.renewal_info import certificate_ari_id

# Refusals of `replaces` after which the order is opened again without it: the certificate
# was replaced already, or the CA does not know it (an issuer switched to another CA).
_REPLACES_REFUSED = frozenset({"alreadyReplaced", "malformed"})


class ReplacingOrder(messages.NewOrder):
    """A newOrder payload naming the certificate it replaces (RFC 9773 section 5)."""

    replaces: str | None = jose_field("replaces", omitempty=True)


def renewal_info_url(directory: messages.Directory) -> str | None:
    """The directory's renewalInfo URL, None when the CA offers no ARI."""
    value = directory.to_partial_json().get("renewalInfo")
    return value if isinstance(value, str) and value else None


def replaces_id(directory: messages.Directory, replaces_pem: str | None) -> str | None:
    """The certID a renewal order names, when the CA has ARI and the old certificate an AKI."""
    if not replaces_pem or renewal_info_url(directory) is None:
        return None
    try:
        return certificate_ari_id(replaces_pem)
    except InvalidRequest:
        return None


def new_order(
    client: acme_client.ClientV2, csr_pem: bytes, profile: str | None, replaces: str | None
) -> messages.OrderResource:
    """`ClientV2.new_order` with `replaces`; a refused `replaces` is dropped and retried."""
    if replaces is None:
        return client.new_order(csr_pem, profile)
    try:
        return _post_order(client, csr_pem, profile, replaces)
    except messages.Error as error:
        if error.code not in _REPLACES_REFUSED:
            raise
        return client.new_order(csr_pem, profile)


def _post_order(
    client: acme_client.ClientV2, csr_pem: bytes, profile: str | None, replaces: str
) -> messages.OrderResource:
    # The identifiers `new_order` would send: the subject CN and the DNS names, then the IPs.
    facts = parse_csr(csr_pem.decode())
    cn = [facts.common_name] if facts.common_name not in ("", *facts.ip_addresses) else []
    dns_names = dict.fromkeys([*cn, *facts.dns_names])
    identifiers = [messages.Identifier(typ=messages.IDENTIFIER_FQDN, value=n) for n in dns_names]
    identifiers += [
        messages.Identifier(typ=messages.IDENTIFIER_IP, value=i) for i in facts.ip_addresses
    ]
    order = ReplacingOrder(identifiers=identifiers, profile=profile or "", replaces=replaces)
    response = client._post(client.directory["newOrder"], order)
    body = messages.Order.from_json(response.json())
    authorizations = [
        client._authzr_from_response(client._post_as_get(url), uri=url)
        for url in body.authorizations
    ]
    return messages.OrderResource(
        body=body,
        uri=response.headers.get("Location"),
        authorizations=authorizations,
        csr_pem=csr_pem,
    )


async def fetch_window(
    base_url: str,
    certificate_pem: str,
    *,
    ca_bundle_pem: str | None,
    allow_private: bool,
    limit_seconds: float,
) -> RenewalWindow:
    """GET `{renewalInfo}/{certID}` and read its suggested window (sections 4.1, 4.2)."""
    url = f"{base_url.rstrip('/')}/{certificate_ari_id(certificate_pem)}"
    await check_url_async(url, allow_private=allow_private, field="renewalInfo")
    verify: ssl.SSLContext | bool = True
    bundle = ca_bundle_path(ca_bundle_pem)
    if isinstance(bundle, str):
        verify = ssl.create_default_context(cafile=bundle)
    try:
        async with httpx.AsyncClient(verify=verify, timeout=limit_seconds) as http:
            response = await http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise CAUnavailable(f"renewalInfo unreachable: {type(exc).__name__}: {exc}") from exc
    retry_after = response.headers.get("Retry-After")
    if response.status_code != 200:
        raise ConnectorError(
            f"renewalInfo answered HTTP {response.status_code}",
            connector=KIND,
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
        )
    try:
        document: Any = response.json()
    except ValueError as exc:
        raise ConnectorError(
            "renewalInfo answered something that is not JSON", connector=KIND
        ) from exc
    window = parse_renewal_info(document)
    return RenewalWindow(window.start, window.end, retry_after, window.explanation_url)
