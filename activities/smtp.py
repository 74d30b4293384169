"""The relay's SMTP side: its configuration and one session with the server (aiosmtplib).

Kept apart from `activities.email_relay` (what to send, and what each answer means for the
outbox row) so that file reads as the delivery rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

import aiosmtplib

from config.settings import Settings


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how the relay sends (the settings' ``smtp_*`` block)."""

    host: str = "127.0.0.1"
    port: int = 1025
    tls: Literal["none", "starttls", "tls"] = "none"
    user: str | None = None
    password: str | None = None
    from_address: str = "Tenure <billing@tenure.localhost>"
    timeout_s: float = 30.0
    poll_s: float = 2.0
    catalog: str = "seats"

    @classmethod
    def of(cls, settings: Settings) -> SmtpConfig:
        """The relay's configuration in a deployment."""
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            tls=settings.smtp_tls,
            user=settings.smtp_user,
            password=password,
            from_address=settings.smtp_from,
            timeout_s=settings.smtp_timeout_s,
            poll_s=settings.email_poll_s,
            catalog=settings.catalog,
        )


class Unavailable(Exception):
    """The SMTP server cannot be reached or refuses our session (not the message's fault)."""


def reply(error: aiosmtplib.SMTPResponseException | aiosmtplib.SMTPResponse) -> str:
    return f"{error.code} {error.message}".strip()


def replies(
    by_address: Mapping[str, aiosmtplib.SMTPResponseException | aiosmtplib.SMTPResponse], single: bool
) -> str:
    """The server's answers per address (just the answer when one address was tried)."""
    if single and len(by_address) == 1:
        return reply(next(iter(by_address.values())))
    return "; ".join(f"{address}: {reply(r)}" for address, r in by_address.items())


class Connection:
    """One SMTP session, opened at the first message and reopened after a loss."""

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config
        self._client: aiosmtplib.SMTP | None = None

    async def _open(self) -> aiosmtplib.SMTP:
        c = self._config
        client = aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            use_tls=c.tls == "tls",
            start_tls=c.tls == "starttls",
            username=c.user,
            password=c.password,
            timeout=c.timeout_s,
        )
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError) as error:
            raise Unavailable(f"cannot reach {c.host}:{c.port}: {error}") from None
        return client

    async def send(self, message: EmailMessage, to: list[str]) -> dict[str, aiosmtplib.SMTPResponse]:
        if self._client is None or not self._client.is_connected:
            self._client = await self._open()
        errors, _ = await self._client.send_message(message, recipients=to)
        return errors

    def lost(self) -> None:
        self._client = None

    async def close(self) -> None:
        if self._client is not None and self._client.is_connected:
            try:
                await self._client.quit()
            except (aiosmtplib.SMTPException, OSError):
                self._client.close()
        self._client = None
