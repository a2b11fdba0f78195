"""Email rendering (MIME, escaping, header safety) and SMTP delivery (C4)."""

from __future__ import annotations

import email.policy
import hashlib
import socket
from dataclasses import replace
from email.message import EmailMessage

import pytest
from pydantic import ValidationError

from certctl.connectors.notifiers.base import Rendered
from certctl.connectors.notifiers.email import EmailConfig, EmailNotifier
from certctl.domain.alerts import AlertMessage
from certctl.errors import ConnectorError
from certctl.testing.receivers import RecordingReceiver, SmtpReceiver

from .conftest import assert_snapshot

FROM = "certctl@example.com"


def _email(**config: object) -> EmailNotifier:
    settings = EmailConfig.model_validate(
        {"host": "smtp.example.com", "from_address": FROM, "security": "none", **config}
    )
    return EmailNotifier(settings, allow_private=True, timeout=5.0)


def _parse(rendered: Rendered) -> EmailMessage:
    parsed = email.message_from_string(rendered.body, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _html(rendered: Rendered) -> str:
    part = _parse(rendered).get_body(preferencelist=("html",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def _refusal(message: AlertMessage) -> ConnectorError:
    with pytest.raises(ConnectorError) as caught:
        _email().render(message)
    return caught.value


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_render_matches_snapshot(message: AlertMessage) -> None:
    """An expiry alert is a fixed multipart/alternative message, text then HTML."""
    assert_snapshot("email.eml", _email().render(message).body)


def test_render_test_message_matches_snapshot(test_message: AlertMessage) -> None:
    """A test send has only the tier in its table and no link."""
    assert_snapshot("email_test.eml", _email().render(test_message).body)


def test_html_escapes_every_value(message: AlertMessage) -> None:
    """Markup in subject, body and facts is shown as text, never interpreted."""
    hostile = replace(
        message,
        subject="<b>bold</b>",
        body="<script>alert(1)</script>",
        owner_name='Ada "&" <Co>',
        link='https://x.example/?a=1&b="2"',
    )
    html = _html(_email().render(hostile))
    assert [fragment in html for fragment in ("<b>", "<script>", '"&"', "<Co>")] == [False] * 4
    assert [
        "<h2>&lt;b&gt;bold&lt;/b&gt;</h2>" in html,
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>" in html,
        "<td>Ada &quot;&amp;&quot; &lt;Co&gt;</td>" in html,
        'href="https://x.example/?a=1&amp;b=&quot;2&quot;"' in html,
    ] == [True] * 4


def test_non_http_link_gets_no_anchor(message: AlertMessage) -> None:
    """A javascript: link is never turned into a clickable anchor."""
    assert "<a " not in _html(_email().render(replace(message, link="javascript:alert(1)")))


def test_headers_come_from_the_message(message: AlertMessage) -> None:
    """From, To, Subject, a stable Message-ID and Date in UTC from occurred_at."""
    parsed = _parse(_email().render(message))
    headers = [parsed[name] for name in ("From", "To", "Subject", "Message-ID", "Date")]
    assert headers == [
        FROM,
        "ada@example.com, platform@example.com",
        "Certificate api-prod expires in 6 days (2026-06-07)",
        "<ntf_01J0EXAMPLE.certctl@example.com>",
        "Mon, 01 Jun 2026 12:00:00 +0000",
    ]


def test_unsafe_notification_id_is_hashed_into_the_message_id(message: AlertMessage) -> None:
    """An id with characters not allowed in a Message-ID is replaced by its digest."""
    parsed = _parse(_email().render(replace(message, notification_id="a b<c>")))
    digest = hashlib.sha256(b"a b<c>").hexdigest()[:32]
    assert parsed["Message-ID"] == f"<{digest}.certctl@example.com>"


def test_non_ascii_text_is_encoded_for_smtp(message: AlertMessage) -> None:
    """Accented names survive as encoded words and quoted-printable; the message is ASCII."""
    rendered = _email().render(replace(message, subject="Zertifikat läuft ab", owner_name="Zoë"))
    parsed = _parse(rendered)
    assert (rendered.body.isascii(), parsed["Subject"], "Zoë" in _html(rendered)) == (
        True,
        "Zertifikat läuft ab",
        True,
    )


@pytest.mark.parametrize(
    "subject", ["Expiring\r\nBcc: victim@example.com", "Expiring\nX-Evil: 1", "Expiring\rX: 1"]
)
def test_line_breaks_in_subject_are_refused(message: AlertMessage, subject: str) -> None:
    """CR or LF in the subject would inject headers: the message is refused."""
    error = _refusal(replace(message, subject=subject))
    assert (error.detail, error.connector) == (
        "Email refused: the Subject header contains a line break",
        "Email",
    )


def test_no_recipients_is_refused(message: AlertMessage) -> None:
    """A message with nobody to send to fails instead of vanishing."""
    error = _refusal(replace(message, recipients=()))
    assert error.detail == "Email refused: the message has no recipients"


@pytest.mark.parametrize(
    "recipient",
    [
        "ada@example.com\r\nBcc: victim@example.com",
        "Ada <ada@example.com>",
        "ada@example.com, eve@example.com",
        "not-an-address",
        "ada@localhost",
        '"quoted"@example.com',
    ],
)
def test_invalid_recipients_are_refused(message: AlertMessage, recipient: str) -> None:
    """Only plain addresses are accepted as recipients."""
    error = _refusal(replace(message, recipients=("ok@example.com", recipient)))
    assert error.detail == f"Email refused: recipient {recipient!r} is not a valid email address"


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"from_address": "certctl@example.com\r\nBcc: x@example.com"}, "from_address"),
        ({"from_address": "certctl"}, "from_address"),
        ({"security": "ssl"}, "security"),
        ({"port": 0}, "port"),
        ({"pasword": "typo"}, "pasword"),
    ],
)
def test_bad_config_is_rejected(config: dict[str, object], field: str) -> None:
    """Sender address, security mode, port and unknown keys are validated."""
    with pytest.raises(ValidationError) as caught:
        EmailConfig.model_validate({"host": "smtp.example.com", "from_address": FROM, **config})
    assert [error["loc"] for error in caught.value.errors()] == [(field,)]


async def test_deliver_sends_the_rendered_message(message: AlertMessage) -> None:
    """Each recipient gets the message as rendered; the receipt is its Message-ID."""
    async with SmtpReceiver() as smtp:
        notifier = _email(host=smtp.host, port=smtp.port)
        rendered = notifier.render(message)
        receipt = await notifier.deliver(rendered)
    mail = smtp.envelopes[0]
    assert (receipt.detail, mail.mail_from, mail.rcpt_tos, mail.data.decode()) == (
        "<ntf_01J0EXAMPLE.certctl@example.com>",
        FROM,
        ("ada@example.com", "platform@example.com"),
        rendered.body.replace("\n", "\r\n"),
    )


async def test_deliver_logs_in_when_a_username_is_set(message: AlertMessage) -> None:
    """Username and password are sent as SMTP AUTH."""
    async with SmtpReceiver(login=("certctl", "s3cret-pass")) as smtp:
        notifier = _email(
            host=smtp.host, port=smtp.port, username="certctl", password="s3cret-pass"
        )
        await notifier.deliver(notifier.render(message))
    assert len(smtp.messages) == 1


async def test_wrong_password_is_reported_without_the_password(message: AlertMessage) -> None:
    """A refused login is an SMTP answer; the password never appears in the error."""
    async with SmtpReceiver(login=("certctl", "s3cret-pass")) as smtp:
        notifier = _email(host=smtp.host, port=smtp.port, username="certctl", password="wrong-pass")
        with pytest.raises(ConnectorError) as caught:
            await notifier.deliver(notifier.render(message))
    assert caught.value.detail == "Email answered 535: 5.7.8 Authentication credentials invalid"


async def test_rejected_data_is_an_smtp_answer(message: AlertMessage) -> None:
    """A server refusing the message fails with its code and text."""
    async with SmtpReceiver() as smtp:
        smtp.reject_with("554 5.7.1 Message rejected as spam")
        notifier = _email(host=smtp.host, port=smtp.port)
        with pytest.raises(ConnectorError) as caught:
            await notifier.deliver(notifier.render(message))
    assert (caught.value.detail, caught.value.connector) == (
        "Email answered 554: 5.7.1 Message rejected as spam",
        "Email",
    )


async def test_starttls_is_required_when_configured(message: AlertMessage) -> None:
    """security=starttls never falls back to plain text on a server without STARTTLS."""
    async with SmtpReceiver() as smtp:
        notifier = _email(host=smtp.host, port=smtp.port, security="starttls")
        with pytest.raises(ConnectorError) as caught:
            await notifier.deliver(notifier.render(message))
    assert (caught.value.detail, smtp.messages) == (
        "Email unreachable: SMTP STARTTLS extension not supported by server.",
        [],
    )


async def test_closed_port_is_unreachable(message: AlertMessage) -> None:
    """Nobody listening: the error says the relay was unreachable."""
    port = _free_port()
    notifier = _email(host="127.0.0.1", port=port)
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(message))
    assert caught.value.detail == (
        f"Email unreachable: Error connecting to 127.0.0.1 on port {port}: "
        f"[Errno 111] Connect call failed ('127.0.0.1', {port})"
    )


async def test_silent_server_times_out(message: AlertMessage) -> None:
    """A server that never greets fails after the configured timeout."""
    async with RecordingReceiver() as silent:
        port = int(silent.url.rsplit(":", 1)[1])
        settings = EmailConfig(host="127.0.0.1", port=port, from_address=FROM, security="none")
        notifier = EmailNotifier(settings, allow_private=True, timeout=0.2)
        with pytest.raises(ConnectorError) as caught:
            await notifier.deliver(notifier.render(message))
    assert caught.value.detail == "Email unreachable: timed out after 0.2s"


async def test_loopback_relay_is_refused_without_allow_private(message: AlertMessage) -> None:
    """The SMTP relay host is under the SSRF guard: loopback is refused before connecting."""
    async with SmtpReceiver() as smtp:
        settings = EmailConfig(host=smtp.host, port=smtp.port, from_address=FROM, security="none")
        notifier = EmailNotifier(settings, allow_private=False, timeout=5.0)
        with pytest.raises(ConnectorError) as caught:
            await notifier.deliver(notifier.render(message))
    assert (caught.value.detail, caught.value.permanent, smtp.messages) == (
        "Email relay refused: host must not point to a loopback address: 127.0.0.1",
        True,
        [],
    )


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("169.254.169.254", "a link-local address: 169.254.169.254"),
        ("0.0.0.0", "an unspecified address: 0.0.0.0"),
        (
            "::ffff:169.254.169.254",
            "a link-local address: ::ffff:169.254.169.254 (::ffff:a9fe:a9fe)",
        ),
    ],
)
async def test_metadata_and_unspecified_relays_are_refused_even_with_allow_private(
    message: AlertMessage, host: str, reason: str
) -> None:
    """Link-local (cloud metadata) and unspecified relay addresses are never dialled."""
    notifier = _email(host=host, port=_free_port())
    with pytest.raises(ConnectorError) as caught:
        await notifier.deliver(notifier.render(message))
    assert caught.value.detail == f"Email relay refused: host must not point to {reason}"
    assert caught.value.permanent is True
