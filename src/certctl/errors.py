"""The one error tree of certctl; every layer raises these, the API maps them once.

    CertctlError
    ├── NotFound              an id that does not exist (404)
    ├── Conflict              uniqueness or a forbidden state transition (409)
    ├── InvalidRequest        bad input, naming the field (400)
    │   └── PolicyViolation   input refused by a policy rule, naming the rule (422)
    ├── AuthenticationRequired missing or wrong credentials (401)
    ├── PermissionDenied      authenticated but not allowed (403)
    ├── Gone                  a retired agent calling again (410)
    ├── PayloadTooLarge       request body over the limit (413)
    ├── RateLimited           too many requests; carries retry_after seconds (429)
    ├── UpstreamError         a CA, channel or target failed (502)
    │   ├── ConnectorError
    │   └── CAUnavailable
    └── ConfigurationError    the server is configured wrongly (500 at start-up)

Exceptions carry data (ids, field names, rules) and never log.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field (dotted path)."""

    field: str
    message: str


class CertctlError(Exception):
    """Base of every error certctl raises on purpose."""

    status = 500
    code = "internal-error"
    title = "Internal error"

    def __init__(self, detail: str, *, errors: tuple[FieldError, ...] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class NotFound(CertctlError):
    """The named resource does not exist."""

    status = 404
    code = "not-found"
    title = "Not found"

    def __init__(self, resource_type: str, resource_id: str) -> None:
        super().__init__(f"{resource_type} {resource_id!r} not found")
        self.resource_type = resource_type
        self.resource_id = resource_id


class Conflict(CertctlError):
    """The change clashes with existing state (duplicate, forbidden transition)."""

    status = 409
    code = "conflict"
    title = "Conflict"


class InvalidRequest(CertctlError):
    """The input is malformed or out of range; `field` names the culprit."""

    status = 400
    code = "invalid-request"
    title = "Invalid request"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        errors = (FieldError(field, detail),) if field else ()
        super().__init__(detail, errors=errors)
        self.field = field

    @classmethod
    def many(cls, errors: tuple[FieldError, ...]) -> InvalidRequest:
        """Build one error reporting several field problems."""
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        err = cls(detail, field=errors[0].field if errors else None)
        err.errors = errors
        return err


class PolicyViolation(InvalidRequest):
    """The input breaks a profile or policy rule; `rule` names it."""

    status = 422
    code = "policy-violation"
    title = "Policy violation"

    def __init__(self, detail: str, *, rule: str, field: str | None = None) -> None:
        super().__init__(detail, field=field)
        self.rule = rule


class AuthenticationRequired(CertctlError):
    """No credentials, or credentials that match no key."""

    status = 401
    code = "unauthenticated"
    title = "Authentication required"


class PermissionDenied(CertctlError):
    """The caller's role does not allow the action."""

    status = 403
    code = "forbidden"
    title = "Forbidden"


class Gone(CertctlError):
    """The caller (a retired agent) no longer exists for the server: stop calling."""

    status = 410
    code = "gone"
    title = "Gone"


class PayloadTooLarge(CertctlError):
    """The request body exceeds the configured limit."""

    status = 413
    code = "payload-too-large"
    title = "Payload too large"


class RateLimited(CertctlError):
    """Too many requests from one key, address or for one account; retry after a while."""

    status = 429
    code = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class UpstreamError(CertctlError):
    """Something certctl talks to (CA, channel, target) failed."""

    status = 502
    code = "upstream-error"
    title = "Upstream error"


class ConnectorError(UpstreamError):
    """A connector call failed; carries the connector kind.

    `permanent` marks failures that retrying cannot fix (a refused target, a malformed
    request the remote rejected with 4xx, an unusable recipient).
    """

    code = "connector-error"

    def __init__(
        self,
        detail: str,
        *,
        connector: str,
        retry_after: float | None = None,
        permanent: bool = False,
    ) -> None:
        super().__init__(detail)
        self.connector = connector
        self.retry_after = retry_after
        self.permanent = permanent


class CAUnavailable(UpstreamError):
    """The certificate authority could not be reached or refused to work."""

    code = "ca-unavailable"


class ConfigurationError(CertctlError):
    """The server's configuration is wrong; raised at start-up."""

    code = "configuration-error"
    title = "Configuration error"
