"""ACME transport details: badNonce retries, Retry-After, problem documents, private CA bundles.

The `acme` package's network retries a badNonce answer once; a CA may reject several nonces
in a row (RFC 8555 section 6.5 lets the client retry with the fresh nonce each rejection
carries), so this network retries up to `BAD_NONCE_RETRIES` times.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

import requests
from acme import client as acme_client
from acme import errors as acme_errors
from acme import messages

from certctl.connectors.issuers.base import IssuanceRefused
from certctl.errors import CAUnavailable, ConnectorError

BAD_NONCE_RETRIES = 10
_RETRYABLE_CODES = frozenset({"rateLimited", "serverInternal", "badNonce"})
KIND = "ACME"


class RetryingNetwork(acme_client.ClientNetwork):
    """A ClientNetwork whose POSTs survive a run of badNonce rejections."""

    def post(self, *args: Any, **kwargs: Any) -> requests.Response:
        """POST, retrying each badNonce rejection with the nonce it brought."""
        for _ in range(BAD_NONCE_RETRIES):
            try:
                return self._post_once(*args, **kwargs)
            except messages.Error as error:
                if error.code != "badNonce":
                    raise
        return self._post_once(*args, **kwargs)


def problem_of(error: messages.Error) -> dict[str, Any]:
    """The CA's problem document as JSON (RFC 7807 fields, RFC 8555 subproblems)."""
    document: dict[str, Any] = error.to_partial_json()
    return {key: value for key, value in document.items() if value is not None}


def describe(error: messages.Error) -> str:
    """One line naming the problem type and the CA's detail."""
    return f"{error.typ}: {error.detail or error.title or 'no detail given'}"


def translate(exc: Exception) -> Exception:
    """Map an `acme`/`requests` failure to the certctl error tree (retryable or not)."""
    if isinstance(exc, messages.Error):
        if exc.code in _RETRYABLE_CODES:
            return ConnectorError(f"the ACME server said {describe(exc)}", connector=KIND)
        return IssuanceRefused(
            f"the ACME server refused: {describe(exc)}", connector=KIND, problem=problem_of(exc)
        )
    if isinstance(exc, acme_errors.ValidationError):
        return _validation_failed(exc)
    if isinstance(exc, acme_errors.IssuanceError):
        return translate(exc.error)
    if isinstance(exc, acme_errors.TimeoutError):
        return ConnectorError("the ACME order did not complete in time", connector=KIND)
    if isinstance(exc, requests.RequestException):
        return CAUnavailable(f"ACME server unreachable: {type(exc).__name__}: {exc}")
    if isinstance(exc, acme_errors.Error):
        return ConnectorError(f"ACME error: {exc}", connector=KIND)
    return exc


def _validation_failed(exc: acme_errors.ValidationError) -> IssuanceRefused:
    """An invalid authorization: the job fails with the challenge's problem document."""
    for authzr in exc.failed_authzrs:
        for challenge in authzr.body.challenges:
            if challenge.error is not None:
                name = authzr.body.identifier.value
                return IssuanceRefused(
                    f"authorization of {name} is invalid: {describe(challenge.error)}",
                    connector=KIND,
                    problem=problem_of(challenge.error),
                )
    return IssuanceRefused("an authorization is invalid", connector=KIND)


def ca_bundle_path(pem: str | None) -> str | bool:
    """Where `requests` finds a private CA bundle (written once per content), or True."""
    if not pem:
        return True
    digest = hashlib.sha256(pem.encode()).hexdigest()[:32]
    path = Path(tempfile.gettempdir()) / f"certctl-acme-ca-{digest}.pem"
    if not path.exists():
        partial = path.with_suffix(".tmp")
        partial.write_text(pem)
        partial.replace(path)
    return str(path)
