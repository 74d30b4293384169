"""`tenure mail list|show`: the e-mails the development SMTP sink received (docs/email.md).

`tenure dev` runs the sink and points the e-mail relay at it; every message is kept as an
``.eml`` file under ``<data_dir>/mail/`` (``.tenure/mail/`` by default), which these
commands read: no server needs to run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.errors import FAILED, fail, load_settings

if TYPE_CHECKING:  # aiosmtpd and its dependencies load only for a `tenure mail` command
    from devstack.smtp_sink import Mailbox, StoredMail

mail_app = typer.Typer(help="E-mails the dev SMTP sink received (`tenure dev`).", no_args_is_help=True)
console = Console()

DirOption = Annotated[
    Path | None, typer.Option("--dir", help="The sink's folder (default: <TENURE_DATA_DIR>/mail).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

_SHOWN_HEADERS = ("Date", "From", "To", "Subject", "Message-ID", "X-Tenure-Template", "X-Tenure-Workspace")


def _mailbox(directory: Path | None) -> Mailbox:
    from devstack.smtp_sink import Mailbox

    return Mailbox(directory if directory is not None else Path(load_settings().data_dir) / "mail")


def _summary(mail: StoredMail) -> dict[str, object]:
    return {
        "id": mail.id,
        "received_at": mail.received_at.isoformat(),
        "to": mail.to,
        "subject": mail.subject,
        "message_id": mail.message_id,
    }


@mail_app.command("list")
def list_mail(directory: DirOption = None, as_json: JsonOption = False) -> None:
    """Every e-mail received, oldest first: number, time, recipients, subject, id."""
    mails = _mailbox(directory).all()
    if as_json:
        print(json.dumps([_summary(m) for m in mails], indent=2))
        return
    if not mails:
        console.print("no e-mail yet")
        return
    table = Table("#", "received (UTC)", "to", "subject", "id")
    for number, mail in enumerate(mails, start=1):
        table.add_row(
            str(number), f"{mail.received_at:%Y-%m-%d %H:%M:%S}", ", ".join(mail.to), mail.subject, mail.id
        )
    console.print(table)


@mail_app.command("show")
def show_mail(
    mail_id: Annotated[str, typer.Argument(metavar="ID", help="An id (or its start), or a list number.")],
    directory: DirOption = None,
    as_json: JsonOption = False,
    html: Annotated[bool, typer.Option("--html", help="Print the HTML part instead of the text.")] = False,
) -> None:
    """One e-mail: its headers and its text part (or HTML with --html)."""
    try:
        mail = _mailbox(directory).get(mail_id)
    except KeyError as error:
        fail(f"no single e-mail matches {mail_id!r} ({error.args[0]}): see `tenure mail list`", FAILED)
    message = mail.message()
    headers = {name: str(message[name]) for name in _SHOWN_HEADERS if message[name] is not None}
    body = mail.html() if html else mail.text()
    if as_json:
        print(
            json.dumps(
                {**_summary(mail), "headers": headers, "text": mail.text(), "html": mail.html()}, indent=2
            )
        )
        return
    for name, value in headers.items():
        console.print(f"[bold]{name}:[/] {value}", highlight=False)
    console.print()
    print(body)
