"""`certctl mcp`: serve the certctl API as MCP tools over stdio for an AI assistant."""

from __future__ import annotations

import asyncio

from certctl.cli.client_cmds.session import (
    DEFAULT_SERVER,
    ApiKeyOpt,
    CaBundleOpt,
    ClientOptions,
    ServerOpt,
    clock,
    open_client,
)


async def serve(options: ClientOptions) -> None:
    """Answer MCP requests on stdin/stdout until the client closes the stream."""
    # Imported here: the MCP SDK takes over a second to import, which no other command needs.
    from certctl.mcp.server import build_server

    async with open_client(options) as client:
        await build_server(client, clock()).run_stdio_async()


def mcp(
    server: ServerOpt = DEFAULT_SERVER,
    api_key: ApiKeyOpt = None,
    ca_bundle: CaBundleOpt = None,
) -> None:
    """Run the MCP server on stdio: the API as tools, with this API key's permissions."""
    asyncio.run(serve(ClientOptions(server, api_key, ca_bundle=ca_bundle)))
