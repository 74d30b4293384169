"""Messages of the e-mail relay (`workflows.email_relay`, `activities.email_relay`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RelayJob(_Message):
    """One run of ``send_due_emails``: send what is due, keep polling for ``run_for_s``
    seconds (every ``poll_s``; None: the worker's ``email_poll_s`` setting), at most
    ``batch`` messages per SMTP connection.

    A long-polling activity keeps the relay's history small (a few events per run, not per
    poll) while a row written now is still sent within about ``poll_s``.
    """

    run_for_s: float = Field(default=50.0, ge=0, le=240)
    poll_s: float | None = Field(default=None, gt=0, le=60)
    batch: int = Field(default=100, ge=1, le=10_000)


class RelayResult(_Message):
    """What one run did: messages accepted by the server, transient failures rescheduled,
    permanent failures recorded, and the last error seen (None: none)."""

    sent: NonNegativeInt = 0
    retried: NonNegativeInt = 0
    failed: NonNegativeInt = 0
    smtp_unavailable: NonNegativeInt = 0
    last_error: str | None = None

    def plus(self, other: RelayResult) -> RelayResult:
        """Both runs' counts, the later error."""
        return RelayResult(
            sent=self.sent + other.sent,
            retried=self.retried + other.retried,
            failed=self.failed + other.failed,
            smtp_unavailable=self.smtp_unavailable + other.smtp_unavailable,
            last_error=other.last_error or self.last_error,
        )


class RelayRequest(_Message):
    """The relay workflow's input: ``job`` for every activity run, ``runs_per_history``
    activity runs before continuing as new (keeps each history short)."""

    job: RelayJob = RelayJob()
    runs_per_history: int = Field(default=100, ge=1, le=1000)
    totals: RelayResult = RelayResult()
