"""The development SMTP sink: accepts every message and keeps it as an ``.eml`` file.

`tenure dev` runs it (``python -m devstack.smtp_sink``) and points the relay at it; the
tests start the same class in process, on a free port, and switch faults on (answer 451 or
550 for a while, refuse one address) to watch the relay retry or record a refusal.
`tenure mail list|show` read the files back (`Mailbox`).

Each file is the message as received, after three lines the sink adds: ``X-Sink-Received``
(when), ``X-Envelope-From`` and ``X-Envelope-To`` (the SMTP envelope, which the headers
need not repeat).
"""

from __future__ import annotations

import argparse
import email
import email.policy
import hashlib
import signal
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class StoredMail:
    """One message in the mailbox."""

    id: str
    path: Path
    received_at: datetime
    to: list[str]
    subject: str
    message_id: str

    def message(self) -> EmailMessage:
        """The parsed message (headers and every part)."""
        with self.path.open("rb") as f:
            parsed = email.message_from_binary_file(f, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def text(self) -> str:
        """The text/plain part (or the whole body of a single-part message)."""
        body = self.message().get_body(preferencelist=("plain",))
        return body.get_content() if isinstance(body, EmailMessage) else ""

    def html(self) -> str:
        """The text/html part, empty when there is none."""
        body = self.message().get_body(preferencelist=("html",))
        return body.get_content() if isinstance(body, EmailMessage) else ""


class Mailbox:
    """The ``.eml`` files of one directory, oldest first (the names sort by arrival)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._count = 0

    def save(self, envelope_from: str, envelope_to: list[str], content: bytes) -> Path:
        """Store one received message; its id is the file's name without ``.eml``."""
        now = datetime.now(UTC)
        with self._lock:
            self._count += 1
            digest = hashlib.sha256(content).hexdigest()[:8]
            name = f"{now:%Y%m%dT%H%M%S%f}-{self._count:04d}-{digest}"
        trace = (
            f"X-Sink-Received: {now.isoformat()}\r\n"
            f"X-Envelope-From: {envelope_from}\r\n"
            f"X-Envelope-To: {', '.join(envelope_to)}\r\n"
        ).encode()
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{name}.eml"
        partial = path.with_suffix(".part")
        partial.write_bytes(trace + content)
        partial.replace(path)  # readers never see half a message
        return path

    def all(self) -> list[StoredMail]:
        """Every stored message, oldest first."""
        if not self.directory.is_dir():
            return []
        return [self._read(p) for p in sorted(self.directory.glob("*.eml"))]

    def get(self, mail_id: str) -> StoredMail:
        """The message whose id is ``mail_id`` or starts with it, or whose list number
        (1 = oldest) it is.

        Raises:
            KeyError: none, or more than one, matches.
        """
        mails = self.all()
        if mail_id.isdigit() and 0 < int(mail_id) <= len(mails) and len(mail_id) < 6:
            return mails[int(mail_id) - 1]
        found = [m for m in mails if m.id.startswith(mail_id) or m.id.endswith(mail_id)]
        if len(found) != 1:
            raise KeyError(f"{len(found)} messages match {mail_id!r}")
        return found[0]

    @staticmethod
    def _read(path: Path) -> StoredMail:
        with path.open("rb") as f:
            headers = email.message_from_binary_file(f, policy=email.policy.default)
        received = headers.get("X-Sink-Received")
        to = str(headers.get("X-Envelope-To") or headers.get("To") or "")
        return StoredMail(
            id=path.stem,
            path=path,
            received_at=datetime.fromisoformat(str(received))
            if received
            else datetime.min.replace(tzinfo=UTC),
            to=[a.strip() for a in to.split(",") if a.strip()],
            subject=str(headers.get("Subject") or ""),
            message_id=str(headers.get("Message-ID") or ""),
        )


class _Handler:
    """aiosmtpd's handler: faults first, then store."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        self._lock = threading.Lock()
        self._fail: tuple[str, int] | None = None  # (reply, how many more messages)
        self.refused: dict[str, str] = {}

    def fail_next(self, reply: str, count: int) -> None:
        with self._lock:
            self._fail = (reply, count) if count > 0 else None

    def _fault(self) -> str | None:
        with self._lock:
            if self._fail is None:
                return None
            reply, left = self._fail
            self._fail = (reply, left - 1) if left > 1 else None
            return reply

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self.refused.get(address.lower())
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        fault = self._fault()
        if fault is not None:
            return fault
        content = envelope.original_content or b""
        self.mailbox.save(str(envelope.mail_from), list(envelope.rcpt_tos), content)
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server on ``host:port`` storing into ``directory``; start/stop as often as you like."""

    def __init__(self, directory: Path, port: int, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self.mailbox = Mailbox(directory)
        self._handler = _Handler(self.mailbox)
        self._controller: Controller | None = None

    def start(self) -> None:
        """Listen (returns once the server answers)."""
        if self._controller is None:
            controller = Controller(self._handler, hostname=self.host, port=self.port, ready_timeout=10)
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        """Stop listening; the stored messages stay."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def fail_next(self, reply: str, count: int = 1) -> None:
        """Answer the next ``count`` messages' DATA with ``reply`` (``"451 4.3.0 try later"``)."""
        self._handler.fail_next(reply, count)

    def refuse(self, address: str, reply: str = "550 5.1.1 mailbox unavailable") -> None:
        """Refuse ``address`` at RCPT, every time."""
        self._handler.refused[address.lower()] = reply

    def messages(self) -> list[StoredMail]:
        """Everything received so far, oldest first."""
        return self.mailbox.all()

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m devstack.smtp_sink --port 1025 --dir .tenure/mail`` (until SIGTERM/Ctrl-C)."""
    parser = argparse.ArgumentParser(description="Tenure's development SMTP sink")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, default=Path(".tenure/mail"))
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with SmtpSink(args.dir, args.port, args.host):
        print(f"SMTP sink on {args.host}:{args.port}, storing into {args.dir}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
