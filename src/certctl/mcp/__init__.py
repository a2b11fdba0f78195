"""The MCP server: the certctl API as tools for AI assistants, over stdio (`certctl mcp`)."""
