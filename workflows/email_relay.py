"""The e-mail relay (docs/email.md): one long-lived workflow, id `tenure-email-relay`.

Every worker makes sure it runs (`worker.schedules.ensure_email_relay`). It only sequences
`send_due_emails` runs: each one long-polls the outbox for about a minute (so a history
grows by a few events a minute, not per poll) and records every e-mail's fate on its row.
The outbox is the durable state; the workflow makes the relay outlive any one worker
(a lost worker's run is retried on another after the activity's timeout) and shows it in
the Temporal UI. It continues as new every ``runs_per_history`` runs.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import activities as refs
    from contracts.email import RelayRequest, RelayResult
    from workflows import calls


@workflow.defn(name="EmailRelay")
class EmailRelayWorkflow:
    """Send the e-mail outbox, forever."""

    @workflow.init
    def __init__(self, request: RelayRequest) -> None:
        self._totals = request.totals

    @workflow.query(name="totals")
    def totals(self) -> RelayResult:
        """What the relay did since it first started (carried across continue-as-new)."""
        return self._totals

    @workflow.run
    async def run(self, request: RelayRequest) -> None:
        """Run the relay activity ``runs_per_history`` times, then continue as new."""
        job = request.job
        for _ in range(request.runs_per_history):
            result = await calls.run(refs.SEND_DUE_EMAILS, job)
            self._totals = self._totals.plus(result)
            if job.run_for_s == 0:
                # A run that does not poll itself: the pause between runs is a timer.
                await workflow.sleep(timedelta(seconds=job.poll_s or 2.0))
        workflow.continue_as_new(request.model_copy(update={"totals": self._totals}))
