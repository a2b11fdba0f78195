"""An async HTTP client of the certctl API, shared by the CLI, the MCP server and scripts."""

from certctl.client.api import CertctlClient
from certctl.client.criteria import AuditCriteria, CertificateCriteria
from certctl.client.errors import ClientError

__all__ = ["AuditCriteria", "CertctlClient", "CertificateCriteria", "ClientError"]
