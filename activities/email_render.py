"""E-mails from outbox rows: Jinja2 templates (text and HTML) into a MIME message.

Each template name of the outbox has two files in ``activities/templates/email/``:
``<name>.txt.j2`` (which also holds the ``subject`` block) and ``<name>.html.j2``, both
extending a layout. HTML is autoescaped, text is not; an undefined variable is an error
(`jinja2.StrictUndefined`), so a template never sends a blank where data was missing.
The templates ship inside the ``activities`` package (the wheel takes its whole folder).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import cache
from typing import Any

import jinja2

# Currencies without minor units (ISO 4217 exponent 0) that our catalogs could carry.
_ZERO_DECIMAL = frozenset({"JPY", "KRW", "CLP", "VND", "ISK", "HUF"})


class TemplateMissing(LookupError):
    """No template of that name: a permanent failure of the row, not a crash."""


@dataclass(frozen=True)
class Rendered:
    """One e-mail's subject and both bodies."""

    subject: str
    text: str
    html: str


def _instant(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def format_date(value: Any) -> str:
    """``2026-12-11T18:00:00+00:00`` → ``11 December 2026``."""
    return f"{_instant(value):%-d %B %Y}"


def format_datetime_utc(value: Any) -> str:
    """``2026-12-11T18:00:00+00:00`` → ``11 December 2026, 18:00 UTC``."""
    return f"{_instant(value):%-d %B %Y, %H:%M} UTC"


def format_money(minor: int, currency: str) -> str:
    """Integer minor units as the amount people read: ``1234, "eur"`` → ``EUR 12.34``."""
    code = currency.upper()
    if code in _ZERO_DECIMAL:
        return f"{code} {minor:,}"
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{code} {sign}{whole:,}.{cents:02d}"


def format_bytes(count: int) -> str:
    """``1_500_000_000`` → ``1.5 GB`` (decimal units, as storage is sold)."""
    size = float(count)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


@cache
def environment() -> jinja2.Environment:
    """The one template environment of the process (templates are compiled once)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("activities", "templates/email"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(date=format_date, datetime=format_datetime_utc, money=format_money, size=format_bytes)
    return env


def template_names() -> list[str]:
    """Every template an outbox row may name (those with both parts)."""
    names = environment().list_templates()
    texts = {n.removesuffix(".txt.j2") for n in names if n.endswith(".txt.j2") and not n.startswith("_")}
    htmls = {n.removesuffix(".html.j2") for n in names if n.endswith(".html.j2")}
    return sorted(texts & htmls)


def render(name: str, data: Mapping[str, Any]) -> Rendered:
    """Subject, text and HTML of template ``name`` with ``data``.

    Raises:
        TemplateMissing: no such template (either part).
        jinja2.TemplateError: the template failed with this data (a variable missing...).
    """
    env = environment()
    try:
        text = env.get_template(f"{name}.txt.j2")
        html = env.get_template(f"{name}.html.j2")
    except jinja2.TemplateNotFound as missing:
        raise TemplateMissing(f"no e-mail template {name!r} ({missing.name})") from None
    context = dict(data)
    subject_block = text.blocks.get("subject")
    if subject_block is None:
        raise TemplateMissing(f"the e-mail template {name!r} has no subject block")
    subject = " ".join("".join(subject_block(text.new_context(context))).split())
    return Rendered(subject=subject, text=text.render(context), html=html.render(context))


def message_id(idempotency_key: str, from_address: str) -> str:
    """The Message-ID of the outbox row keyed ``idempotency_key``: the same on every retry,
    so a receiving side can drop a duplicate the at-least-once window let through."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "tenure.localhost"
    return f"<{digest}.outbox@{domain}>"


def build_message(
    rendered: Rendered,
    *,
    from_address: str,
    to: Sequence[str],
    idempotency_key: str,
    date: datetime,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """The multipart/alternative message (text first, HTML preferred by readers that can)."""
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = from_address
    message["To"] = ", ".join(to)
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id(idempotency_key, from_address)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message
