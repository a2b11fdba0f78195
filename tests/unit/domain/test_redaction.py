"""Secrets inside free text are masked: URL user parts, secret-named values, tokens."""

from __future__ import annotations

import pytest

from certctl.domain.redaction import has_url_credentials, mask_url_credentials, redact_text

M = "[REDACTED]"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("https://user:pa55@hooks.example.com/x", f"https://{M}@hooks.example.com/x"),
        ("https://token@git.example.com/repo", f"https://{M}@git.example.com/repo"),
        ("https://u:p@ss@h.example.com/", f"https://{M}@h.example.com/"),
        (
            "error for url 'http://a:b@10.0.0.1:8080/y' (503)",
            f"error for url 'http://{M}@10.0.0.1:8080/y' (503)",
        ),
        (
            "https://hooks.example.com/x?to=a@example.com",
            "https://hooks.example.com/x?to=a@example.com",
        ),
        ("mail alice@example.com", "mail alice@example.com"),
        ("no url here", "no url here"),
    ],
)
def test_url_user_parts_are_masked(text: str, masked: str) -> None:
    """The userinfo of every URL is replaced; query strings and plain addresses are kept."""
    assert mask_url_credentials(text, M) == masked
    assert has_url_credentials(text) is (masked != text)


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ('{"password": "s3cret", "ok": 1}', f'{{"password": "{M}", "ok": 1}}'),
        ('{"api_key":"k-123","name":"x"}', f'{{"api_key":"{M}","name":"x"}}'),
        ("routing_key=abc123&x=1", f"routing_key={M}&x=1"),
        ("password='a b'", f"password='{M}'"),
        ("Authorization: Bearer abcdefghijkl", f"Authorization: {M}"),
        ("header was Bearer abcdefghijkl.", f"header was Bearer {M}"),
        ("X-Webhook-Token: t0k3n", f"X-Webhook-Token: {M}"),
        ('{"echo": "https://u:p@h.example.com"}', f'{{"echo": "https://{M}@h.example.com"}}'),
        ("rate limited, retry later", "rate limited, retry later"),
    ],
)
def test_error_text_is_redacted(text: str, redacted: str) -> None:
    """Secret-named values, authorization tokens and URL credentials are masked in free text."""
    assert redact_text(text, M) == redacted
