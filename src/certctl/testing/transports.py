"""An `HttpTransport` over an httpx client, so connector unit tests can answer from a handler."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from certctl.connectors.notifiers.transport import HttpAnswer, TransportFailure


class HttpxTransport:
    """Sends through `client` (typically over `httpx.MockTransport(handler)`)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(
        self,
        url: str,
        content: bytes,
        headers: Mapping[str, str],
        *,
        time_limit: float,
        max_bytes: int,
    ) -> HttpAnswer:
        """One POST with the limit as httpx's timeout; redirects are never followed."""
        request = self.client.build_request(
            "POST", url, content=content, headers=dict(headers), timeout=time_limit
        )
        try:
            response = await self.client.send(request, follow_redirects=False)
        except httpx.TimeoutException as exc:
            raise TransportFailure(f"timed out after {time_limit:g}s", timed_out=True) from exc
        except httpx.HTTPError as exc:
            raise TransportFailure(str(exc) or type(exc).__name__) from exc
        return HttpAnswer(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            body=response.content[:max_bytes],
            charset=response.charset_encoding,
        )

    async def aclose(self) -> None:
        """Close the client."""
        await self.client.aclose()
