"""Secrets inside free text: URL credentials, secret-named values and authorization tokens (C10).

Structured data is redacted by key (`domain.audit.redact`, `services.secrets`); these functions
cover text that carries secrets without a key of its own: a URL with `user:password@`
(RFC 3986 §3.2.1 userinfo, deprecated for passwords but still used), an error body a remote
endpoint echoed back, a log line.
"""

from __future__ import annotations

import re

# scheme "://" userinfo "@" (RFC 3986 §3.2): the userinfo runs up to the last "@" before the
# host, so a password holding an unencoded "@" is covered as a whole.
_URL_CREDENTIALS = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s\"'<>]*@")
# Names of secret fields, not secrets.
_SECRET_WORDS = "|".join(
    [
        *("secret", "password", "passwd", "passphrase", "token", "private_key", "api_key"),
        *("apikey", "hmac", "credential", "routing_key", "genie_key", "webhook_url"),
        "authorization",
    ]
)
# `"password": "x"`, `password=x`, `X-Api-Key: x` (JSON, forms, headers, key=value logs).
_SECRET_FIELD = re.compile(
    rf"""(?ix)
    ( ["']? [\w.-]*(?:{_SECRET_WORDS})[\w.-]* ["']? \s* [:=] \s* )
    ( "(?:[^"\\]|\\.)*" | '[^']*' | (?:(?:bearer|basic|token|geniekey)\s+)?[^\s,;&}}\]"']+ )
    """
)
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic|geniekey)\s+[A-Za-z0-9._~+/=-]{8,}")


def has_url_credentials(text: str) -> bool:
    """Whether `text` holds a URL with a user part (`scheme://user[:password]@host`)."""
    return _URL_CREDENTIALS.search(text) is not None


def mask_url_credentials(text: str, mask: str) -> str:
    """Replace the user part of every URL in `text` by `mask`, keeping scheme and host."""
    if "://" not in text:  # most text holds no URL: skip the regular expression
        return text
    return _URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}{mask}@", text)


def redact_text(text: str, mask: str) -> str:
    """Mask URL credentials, values of secret-named fields and authorization tokens."""
    text = mask_url_credentials(text, mask)
    text = _SECRET_FIELD.sub(lambda m: m.group(1) + _quoted_mask(m.group(2), mask), text)
    return _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {mask}", text)


def _quoted_mask(value: str, mask: str) -> str:
    """Keep the quotes around a masked value so the text stays well-formed JSON."""
    if value[:1] in "\"'" and len(value) > 1:
        return f"{value[0]}{mask}{value[0]}"
    return mask
