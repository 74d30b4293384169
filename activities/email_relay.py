"""The e-mail relay: sends the ``email_outbox`` over SMTP, once per row as far as SMTP allows.

One row at a time, in its own transaction: the row is claimed ``FOR UPDATE SKIP LOCKED``
(two relays never hold one row), the message is handed to the server, and ``sent_at`` is
written and committed right after the server's 250. The one window left is between that 250
and the commit (or a connection lost after the message's final dot, before the reply): the
row is then sent again on retry, with the same Message-ID, which receivers use to drop the
duplicate. A 4xx reply or a lost connection reschedules the row with exponential backoff; a
5xx refusal is final and recorded on the row (the overview warns about it). Recipients are
resolved when the row is sent (docs/email.md: the billing contact, else every active billing
admin), so nobody removed or suspended in the meantime gets mail.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from functools import cache
from typing import Literal

import aiosmtplib
import jinja2
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.email_render import TemplateMissing, build_message, render
from activities.smtp import Connection, SmtpConfig, Unavailable, replies, reply
from billing.catalog import CatalogError, load_catalog
from contracts import activities as refs
from contracts.email import RelayJob, RelayResult
from db import outbox_repo
from db.subscription_models import EmailOutboxRow
from observability import metrics

log = logging.getLogger("tenure.email")

# Templates about one invoice: the relay adds what the invoices table knows now (total,
# currency, the Stripe PDF and hosted page, which arrive after the decision was recorded).
_INVOICE_TEMPLATES = frozenset({"receipt", "payment_failed", "payment_action_required", "invoice_overdue"})
# After this many failed connection attempts in a row, the relay waits this long at most.
_UNAVAILABLE_MAX_PAUSE_S = 60.0


@dataclass(frozen=True)
class RetryRule:
    """Backoff of one row after a transient failure: ``base`` doubled per attempt up to
    ``cap``; after ``max_attempts`` attempts the row fails for good (80 ≈ three days)."""

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 80

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt (1 for the first)."""
        grown: timedelta = self.base * (2 ** min(attempts - 1, 30))
        return min(self.cap, grown)


@dataclass(frozen=True)
class _Outcome:
    kind: Literal["sent", "retry", "failed", "unavailable"]
    error: str | None = None
    stop: bool = False  # the session is gone: end this pass rather than reconnect at once


def _utcnow() -> datetime:
    return datetime.now(UTC)


class EmailRelayActivities:
    """Built with the session factory and the SMTP configuration of the composition root."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        smtp: SmtpConfig,
        retry: RetryRule = RetryRule(),
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._sessions = sessions
        self._smtp = smtp
        self._retry = retry
        self._clock = clock

    @activity.defn(name=refs.SEND_DUE_EMAILS.name)
    async def send_due_emails(self, job: RelayJob) -> RelayResult:
        """Send every due row, then keep polling for ``job.run_for_s`` seconds.

        While the server is unreachable the pause between attempts doubles (up to a
        minute); the rows stay untouched, as the failure is not theirs.
        """
        total = RelayResult()
        deadline = time.monotonic() + job.run_for_s
        poll = job.poll_s or self._smtp.poll_s
        pause = poll
        while True:
            run = await self.drain(job.batch, until=deadline)
            total = total.plus(run)
            if run.smtp_unavailable:
                pause = min(_UNAVAILABLE_MAX_PAUSE_S, pause * 2)
            else:
                pause = 0.0 if run.sent + run.retried + run.failed >= job.batch else poll
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return total
            if activity.in_activity():
                activity.heartbeat(total.model_dump())
            await asyncio.sleep(min(pause, remaining))

    async def drain(
        self, limit: int = 100, workspace_id: str | None = None, until: float | None = None
    ) -> RelayResult:
        """Send due rows over one SMTP session until none is due, ``limit`` were handled,
        the server is unreachable, or ``time.monotonic()`` passed ``until`` (so a slow server
        cannot stretch a run past its activity's timeout). ``workspace_id``: only that
        workspace's rows, as a test sharing its database with others needs."""
        counts = {"sent": 0, "retry": 0, "failed": 0, "unavailable": 0}
        last_error: str | None = None
        connection = Connection(self._smtp)
        try:
            for _ in range(limit):
                async with self._sessions.begin() as session:
                    row = await outbox_repo.claim_due(session, self._clock(), workspace_id)
                    if row is None:
                        break
                    outcome = await self._deliver(session, row, connection)
                counts[outcome.kind] += 1
                metrics.EMAILS.labels(outcome.kind).inc()
                if activity.in_activity():
                    activity.heartbeat(counts)  # alive: a slow SMTP server is not a dead worker
                last_error = outcome.error or last_error
                if outcome.kind == "unavailable" or outcome.stop:
                    break
                if until is not None and time.monotonic() >= until:
                    break
                if activity.in_activity():
                    activity.heartbeat()
        finally:
            await connection.close()
        return RelayResult(
            sent=counts["sent"],
            retried=counts["retry"],
            failed=counts["failed"],
            smtp_unavailable=counts["unavailable"],
            last_error=last_error,
        )

    async def _deliver(self, session: AsyncSession, row: EmailOutboxRow, smtp: Connection) -> _Outcome:
        """Send ``row`` (locked by the caller's transaction) and record what happened."""
        now = self._clock()
        try:
            message, to = await self._compose(session, row)
        except (TemplateMissing, jinja2.TemplateError, ValueError) as error:
            return await self._fail(session, row, f"cannot render {row.template!r}: {error}", now)
        if not to:
            reason = "no recipient: the workspace has no billing contact and no active billing admin"
            return await self._fail(session, row, reason, now)
        try:
            refused = await smtp.send(message, to)
        except Unavailable as error:
            log.warning("e-mail relay: %s", error)
            return _Outcome("unavailable", str(error))
        except aiosmtplib.SMTPRecipientsRefused as error:
            answers = replies({r.recipient: r for r in error.recipients}, single=len(to) == 1)
            if all(r.code >= 500 for r in error.recipients):
                return await self._fail(session, row, f"refused: {answers}", now, to)
            return await self._reschedule(session, row, answers, now)
        except aiosmtplib.SMTPSenderRefused as error:
            # A refused sender is the deployment's From address, not this e-mail: retried
            # (and given up after the usual attempts) rather than failing every row at once.
            return await self._reschedule(session, row, f"sender refused: {reply(error)}", now)
        except aiosmtplib.SMTPResponseException as error:
            if error.code >= 500:
                return await self._fail(session, row, f"refused: {reply(error)}", now, to)
            return await self._reschedule(session, row, reply(error), now)
        except (aiosmtplib.SMTPNotSupported, ValueError) as error:
            return await self._fail(session, row, f"cannot be sent: {error}", now, to)
        except (aiosmtplib.SMTPException, OSError) as error:
            # Lost mid-session: the message may or may not have been accepted. Sent again
            # later with the same Message-ID (the at-least-once window of docs/email.md).
            smtp.lost()
            outcome = await self._reschedule(session, row, f"connection lost: {error}", now)
            return _Outcome(outcome.kind, outcome.error, stop=True)
        accepted = [address for address in to if address not in refused]
        note = f"refused: {replies(refused, single=False)}" if refused else None
        await outbox_repo.mark_sent(session, row.id, now, accepted, note)
        log.info("e-mail %s (%s) sent to %s", row.id, row.template, ", ".join(accepted))
        return _Outcome("sent")

    async def _compose(self, session: AsyncSession, row: EmailOutboxRow) -> tuple[EmailMessage, list[str]]:
        data = {**row.data, "workspace_id": row.workspace_id}
        if row.template in _INVOICE_TEMPLATES and isinstance(row.data.get("number"), str):
            facts = await outbox_repo.invoice_facts(session, row.workspace_id, row.data["number"])
            data = {**facts, **data}
        rendered = render(row.template, data)
        to = await self._recipients(session, row)
        headers = {
            "Auto-Submitted": "auto-generated",
            "X-Tenure-Template": row.template,
            "X-Tenure-Workspace": row.workspace_id,
        }
        message = build_message(
            rendered,
            from_address=self._smtp.from_address,
            to=to or ["undisclosed-recipients:;"],
            idempotency_key=row.idempotency_key,
            date=row.created_at,
            headers=headers,
        )
        return message, to

    async def _recipients(self, session: AsyncSession, row: EmailOutboxRow) -> list[str]:
        """The billing contact, else every active billing admin, as of now; else the address
        the decision recorded if it still belongs to an active member."""
        ws = row.workspace_id
        contact = await outbox_repo.billing_contact(session, ws)
        if contact:
            return [contact]
        catalog = await outbox_repo.catalog_name(session, ws) or self._smtp.catalog
        roles = _admin_roles(catalog, self._smtp.catalog)
        if roles:
            admins = list(dict.fromkeys(await outbox_repo.active_emails(session, ws, roles)))
            if admins:
                return admins
        if row.to_address and row.to_address in await outbox_repo.active_emails(session, ws):
            return [row.to_address]
        return []

    async def _reschedule(
        self, session: AsyncSession, row: EmailOutboxRow, error: str, now: datetime
    ) -> _Outcome:
        attempts = row.attempts + 1
        if attempts >= self._retry.max_attempts:
            return await self._fail(session, row, f"gave up after {attempts} attempts: {error}", now)
        await outbox_repo.mark_retry(session, row.id, error, now + self._retry.delay(attempts))
        log.info("e-mail %s (%s) deferred (attempt %d): %s", row.id, row.template, attempts, error)
        return _Outcome("retry", error)

    @staticmethod
    async def _fail(
        session: AsyncSession, row: EmailOutboxRow, error: str, now: datetime, to: Sequence[str] = ()
    ) -> _Outcome:
        await outbox_repo.mark_failed(session, row.id, error, now, to)
        log.warning("e-mail %s (%s) failed for good: %s", row.id, row.template, error)
        return _Outcome("failed", error)


@cache
def _admin_roles(catalog: str, deployment_catalog: str) -> tuple[str, ...]:
    """The billing-admin roles of the subscription's catalog (by its name: a shipped one, or
    the deployment's own catalog file); empty when neither is that catalog."""
    for source in (catalog, deployment_catalog):
        try:
            found = load_catalog(source)
        except CatalogError:
            continue
        if found.name == catalog:
            return tuple(found.roles.billing_admin)
    return ()
