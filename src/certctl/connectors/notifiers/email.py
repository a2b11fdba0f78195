"""Email notifier over SMTP (aiosmtplib): multipart text + HTML, header-injection safe (C4).

`render` builds the whole MIME message deterministically (Message-ID from the notification
id, Date from when it occurred, a fixed boundary) so it can be compared byte for byte.
"""

from __future__ import annotations

import asyncio
import email.policy
import hashlib
import html
import re
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from typing import Annotated, ClassVar, Literal

import aiosmtplib
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from certctl.connectors.notifiers.base import Receipt, Rendered
from certctl.connectors.notifiers.facts import Fact, facts, utc
from certctl.connectors.notifiers.transport import HttpTransport
from certctl.connectors.ssrf import check_host_async
from certctl.domain.alerts import AlertMessage
from certctl.domain.policies import AlertChannel
from certctl.errors import ConnectorError, InvalidRequest

CHANNEL = AlertChannel.EMAIL.value
# A conservative RFC 5322 addr-spec: dot-atom local part, DNS host name; no quoted local
# parts, comments or internationalised addresses, so nothing can smuggle header syntax.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+")
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def valid_address(value: str) -> bool:
    """Whether `value` is a plain address (RFC 5321 caps a path at 254 characters)."""
    return len(value) <= 254 and ADDRESS.fullmatch(value) is not None


def _check_address(value: str) -> str:
    if not valid_address(value):
        raise ValueError("not a valid email address")
    return value


class EmailConfig(BaseModel):
    """An SMTP relay and the sender address."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    send_resolved: bool = Field(
        default=False, description="Send a notice when an alert resolves (default off)"
    )

    host: str = Field(min_length=1, description="SMTP server host name")
    port: int = Field(default=587, ge=1, le=65535, description="SMTP port")
    username: str | None = Field(default=None, description="SMTP login, if the relay needs one")
    password: SecretStr | None = Field(default=None, description="SMTP password")
    from_address: Annotated[str, AfterValidator(_check_address)] = Field(
        description="Sender address"
    )
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="starttls (submission, 587), tls (465) or none"
    )


def _refuse(detail: str) -> ConnectorError:
    return ConnectorError(f"Email refused: {detail}", connector=CHANNEL, permanent=True)


def _refuse_relay(detail: str) -> ConnectorError:
    return ConnectorError(f"Email relay refused: {detail}", connector=CHANNEL, permanent=True)


def _header_value(name: str, value: str) -> str:
    # A line break in a header value would start a new header (Bcc: injection).
    if "\r" in value or "\n" in value or len(value.splitlines()) > 1:
        raise _refuse(f"the {name} header contains a line break")
    return value


def _recipients(message: AlertMessage) -> str:
    if not message.recipients:
        raise _refuse("the message has no recipients")
    for address in message.recipients:
        if not valid_address(address):
            raise _refuse(f"recipient {address!r} is not a valid email address")
    return ", ".join(message.recipients)


def message_id(notification_id: str, from_address: str) -> str:
    """A stable Message-ID, so a retried send is recognisably the same message."""
    local = notification_id if _SAFE_ID.fullmatch(notification_id) else _digest(notification_id)
    return f"<{local}.certctl@{from_address.rpartition('@')[2]}>"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _email_facts(message: AlertMessage) -> list[Fact]:
    extra = [Fact("SANs", ", ".join(message.sans)), Fact("Issuer", message.issuer_name)]
    return [*facts(message), *(fact for fact in extra if fact.value)]


def text_part(message: AlertMessage) -> str:
    """The plain-text alternative."""
    lines = [message.body, ""] if message.body else []
    lines += [f"{fact.label}: {fact.value}" for fact in _email_facts(message)]
    if message.link:
        lines += ["", f"Open in certctl: {message.link}"]
    return "\n".join(lines) + "\n"


def html_part(message: AlertMessage) -> str:
    """The HTML alternative; every interpolated value is escaped."""
    esc = html.escape
    paragraphs = "".join(
        f"<p>{esc(block).replace(chr(10), '<br>')}</p>\n"
        for block in message.body.split("\n\n")
        if block.strip()
    )
    rows = "".join(
        f'<tr><th align="left">{esc(f.label)}</th><td>{esc(f.value)}</td></tr>\n'
        for f in _email_facts(message)
    )
    link = ""
    if message.link and message.link.startswith(("https://", "http://")):
        link = f'<p><a href="{esc(message.link)}">Open in certctl</a></p>\n'
    return (
        f"<!DOCTYPE html>\n<html><body>\n<h2>{esc(message.subject)}</h2>\n"
        f"{paragraphs}<table>\n{rows}</table>\n{link}</body></html>\n"
    )


class EmailNotifier:
    """Sends one multipart message through the configured SMTP relay."""

    channel: str = CHANNEL
    Config: ClassVar[type[EmailConfig]] = EmailConfig

    def __init__(
        self,
        config: EmailConfig,
        *,
        http: HttpTransport | None = None,
        allow_private: bool,
        timeout: float,
    ) -> None:
        # `http` keeps the constructor uniform. The relay host is under the SSRF guard like
        # every HTTP target: an operator's channel test must not probe internal hosts, so a
        # relay on a private network needs CERTCTL_ALLOW_PRIVATE_TARGETS.
        self.config = config
        self.timeout = timeout
        self.allow_private = allow_private
        self._password = config.password.get_secret_value() if config.password else None

    def render(self, message: AlertMessage) -> Rendered:
        """The MIME message as text (LF line endings; SMTP converts them to CRLF)."""
        mime = EmailMessage(policy=email.policy.default)
        mime["From"] = self.config.from_address
        mime["To"] = _recipients(message)
        mime["Subject"] = _header_value("Subject", message.subject)
        mime["Date"] = format_datetime(utc(message.occurred_at))
        mime["Message-ID"] = message_id(message.notification_id, self.config.from_address)
        mime["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
        mime.set_content(text_part(message), cte="quoted-printable")
        mime.add_alternative(html_part(message), subtype="html", cte="quoted-printable")
        # A boundary beginning with "==" cannot occur in quoted-printable text.
        mime.set_boundary(f"==============={_digest(message.notification_id)[:20]}==")
        return Rendered(body=mime.as_string())

    async def deliver(self, rendered: Rendered) -> Receipt:
        """Send the message as rendered; the receipt is its Message-ID."""
        parsed = email.message_from_string(rendered.body, policy=email.policy.default)
        recipients = [address for _, address in getaddresses(parsed.get_all("To", []))]
        await self._check_relay()
        try:
            async with asyncio.timeout(self.timeout):
                await self._send(rendered.body, recipients)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise self._answered(exc.recipients[0]) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise self._answered(exc) from exc
        except (TimeoutError, aiosmtplib.SMTPTimeoutError) as exc:
            raise self._unreachable(f"timed out after {self.timeout:g}s") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise self._unreachable(str(exc) or type(exc).__name__) from exc
        return Receipt(str(parsed["Message-ID"]))

    async def _check_relay(self) -> None:
        try:
            await check_host_async(
                self.config.host, self.config.port, allow_private=self.allow_private, field="host"
            )
        except InvalidRequest as exc:
            raise _refuse_relay(exc.detail) from exc

    async def _send(self, body: str, recipients: list[str]) -> None:
        await aiosmtplib.send(
            body,
            sender=self.config.from_address,
            recipients=recipients,
            hostname=self.config.host,
            port=self.config.port,
            username=self.config.username,
            password=self._password if self.config.username else None,
            timeout=self.timeout,
            use_tls=self.config.security == "tls",
            # aiosmtplib upgrades opportunistically when start_tls is None; "none" means False.
            start_tls=self.config.security == "starttls",
        )

    def _answered(self, exc: aiosmtplib.SMTPResponseException) -> ConnectorError:
        text = self._scrub(exc.message)[:200]
        return ConnectorError(f"Email answered {exc.code}: {text}", connector=CHANNEL)

    def _unreachable(self, reason: str) -> ConnectorError:
        return ConnectorError(f"Email unreachable: {self._scrub(reason)}", connector=CHANNEL)

    def _scrub(self, text: str) -> str:
        return text.replace(self._password, "[redacted]") if self._password else text
