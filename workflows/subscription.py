"""One long-running workflow per workspace: the subscription's whole life (SPEC §2).

Decisions come from `billing` (pure); this class only sequences them: commands arrive as
Updates (validated first, so a refusal leaves no trace in history), facts as Signals,
time as deadlines kept in the state. At every period boundary, and when the server
suggests it, the run continues as new carrying the state.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from billing import (
        AddMember,
        ApproveSeats,
        AssignSeat,
        BillingState,
        Cancel,
        ChangePlan,
        ChangeSeat,
        ClearCancellation,
        Command,
        CommandResult,
        Decision,
        DeleteWorkspaceCommand,
        DomainError,
        ExtendTrial,
        Reactivate,
        RemoveMember,
        RequestSeats,
        SelectPlan,
        SetContract,
        SetRole,
        StartTrial,
        UnassignSeat,
        advance,
        apply,
        new_subscription,
        next_deadline,
        on_invoice_event,
        preview,
        remember_revert,
        validate,
    )
    from billing.catalog import shared_catalog
    from billing.errors import USAGE_MISSING
    from billing.overview import Overview, overview
    from billing.state import CURRENT_RULES
    from workflows.effects import EffectRunner
    from workflows.messages import (
        FACTS_REMEMBERED,
        CancellationRequest,
        InvoiceFact,
        PreviewRequest,
        QuoteAnswer,
        Refusal,
        SubscriptionStart,
    )
    from workflows.publish import Published, publish
    from workflows.record import build_record
    from workflows.usage import usage_totals


RULES_PATCH = "lifecycle-rules-2"


def _rejection(error: DomainError) -> ApplicationError:
    return ApplicationError(error.message, error.details, type=error.code, non_retryable=True)


@workflow.defn(name="Subscription")
class SubscriptionWorkflow:
    """The subscription of one workspace (id ``subscription-{workspace_id}``)."""

    @workflow.init
    def __init__(self, start: SubscriptionStart) -> None:
        # Handlers may run before `run` (update-with-start, messages after continue-as-new):
        # everything they touch exists from here on.
        # Keep no reference to `start` itself: it holds a second copy of the state.
        self._clock_offset_seconds = start.clock_offset_seconds
        self._offset = timedelta(seconds=start.clock_offset_seconds)
        self._catalog = shared_catalog(start.catalog)
        self._stripe_task_queue = start.stripe_task_queue
        self._runner = EffectRunner(
            start.workspace_id,
            start.catalog,
            start.last_revert,
            stripe_task_queue=start.stripe_task_queue,
            clock_offset_seconds=start.clock_offset_seconds,
        )
        self._lock = asyncio.Lock()
        self._wake = False
        self._seen_facts: list[str] = list(start.seen_facts)
        self._cancellations: list[CancellationRequest] = []
        self._facts: list[InvoiceFact] = []
        self._version = start.version
        self._published: Published | None = None
        self._initial_effects: Decision | None = None
        if start.state is None:
            # A first run recorded before rules 2 replays with the rules it was recorded by.
            rules = CURRENT_RULES if workflow.patched(RULES_PATCH) else 1
            self._initial_effects = new_subscription(
                start.workspace_id, start.catalog, self._now(), members=start.members, rules=rules
            )
            self._state: BillingState = self._initial_effects.state
        else:
            self._state = start.state
        self._period_at_start = self._state.period_start

    def _now(self) -> datetime:
        return workflow.now() + self._offset

    # --- the loop ------------------------------------------------------------------

    @workflow.run
    async def run(self, start: SubscriptionStart) -> str:
        """Wake on the earliest deadline or a message, until deleted or continuing as new."""
        if self._state.rules < CURRENT_RULES and workflow.patched(RULES_PATCH):
            # A state carried from an older run decides by today's rules from here on; a
            # replay of a run recorded before the patch keeps its recorded decisions.
            self._state = self._state.model_copy(update={"rules": CURRENT_RULES})
        async with self._lock:
            await self._record_creation()
            self._published = publish(self._state, None)
        while self._state.status != "deleted" and not self._should_continue_as_new():
            deadline = next_deadline(self._state)
            timeout = None if deadline is None else max(deadline - self._now(), timedelta(0))
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._wake or workflow.info().is_continue_as_new_suggested(),
                    timeout=timeout,
                    timeout_summary="next deadline",
                )
            self._wake = False
            async with self._lock:
                await self._catch_up()
                await self._drain_messages()
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._state.status == "deleted":
            return "deleted"
        workflow.continue_as_new(
            SubscriptionStart(
                workspace_id=self._state.workspace_id,
                catalog=self._catalog,
                state=self._state,
                last_revert=self._runner.last_revert,
                seen_facts=tuple(self._seen_facts[-FACTS_REMEMBERED:]),
                version=self._version,
                stripe_task_queue=self._stripe_task_queue,
                clock_offset_seconds=self._clock_offset_seconds,
            )
        )

    async def _record_creation(self) -> None:
        """Write the new subscription's record once, before anything else is decided.

        An Update sent right after the start (update-with-start, or a client that starts then
        commands at once) can take the lock before `run` does: it must act on the created
        subscription, and `run` must not later put the creation state back over its result.
        The creator registered the workspace (roster included) before starting us.
        """
        if self._initial_effects is not None:
            initial, self._initial_effects = self._initial_effects, None
            await self._commit(initial.state, initial)

    def _should_continue_as_new(self) -> bool:
        # A new billing period starts a new run: histories stay one period long.
        if self._state.period_start != self._period_at_start:
            return True
        return workflow.info().is_continue_as_new_suggested()

    async def _catch_up(self) -> None:
        now = self._now()
        usage = await usage_totals(self._state, now, self._catalog)
        decision = advance(self._state, now, self._catalog, usage)
        if decision.effects or decision.state != self._state:
            await self._commit(self._state, decision)

    async def _drain_messages(self) -> None:
        while self._cancellations:
            request = self._cancellations.pop(0)
            command = Cancel(request_id=request.request_id, actor=request.actor, reason=request.reason)
            try:
                await self._execute_locked(command)
            except ApplicationError as refused:
                workflow.logger.warning("cancellation %s refused: %s", request.request_id, refused)
        while self._facts:
            fact = self._facts.pop(0)
            if fact.source_id in self._seen_facts:
                continue
            try:
                decision = on_invoice_event(self._state, fact.number, fact.event, self._now(), self._catalog)
            except DomainError as error:
                workflow.logger.warning("invoice fact %s ignored: %s", fact.source_id, error)
            else:
                await self._commit(self._state, decision)
            self._seen_facts = [*self._seen_facts, fact.source_id][-FACTS_REMEMBERED:]

    async def _commit(self, before: BillingState, decision: Decision, command: Command | None = None) -> None:
        """Adopt the decision's state, write its record, change the workspace, publish.

        The record (timeline, roster, seats, projection, audit) is one activity; only the
        effects that act on the workspace's data (revert, reactivation, deletions) add more.
        """
        self._state = decision.state
        self._version += 1
        record = build_record(
            before, decision.state, decision.effects, self._catalog, self._now(), self._version, command
        )
        await self._runner.record(record)
        revert = await self._runner.perform(decision.effects)
        if revert is not None:
            self._state = remember_revert(self._state, revert)
        self._published = publish(self._state, self._published)

    # --- commands (Updates) -------------------------------------------------------

    async def _execute(self, command: Command) -> CommandResult:
        async with self._lock:
            result = await self._execute_locked(command)
        self._wake = True  # deadlines may have moved
        return result

    async def _execute_locked(self, command: Command) -> CommandResult:
        await self._record_creation()
        now = self._now()
        usage = await usage_totals(self._state, now, self._catalog, command)
        try:
            decision = apply(self._state, command, now, self._catalog, usage)
        except DomainError as error:
            raise _rejection(error) from None
        assert decision.result is not None
        if decision.effects or decision.state != self._state:
            await self._commit(self._state, decision, command)
        return decision.result

    def _validate(self, command: Command) -> None:
        try:
            validate(self._state, command, self._now(), self._catalog)
        except DomainError as error:
            if error.code == USAGE_MISSING:
                return  # a period must close first (needs the database): the handler decides
            raise _rejection(error) from None

    @workflow.update
    async def start_trial(self, command: StartTrial) -> CommandResult:
        """Start the trial (credits catalog)."""
        return await self._execute(command)

    @start_trial.validator
    def _v_start_trial(self, command: StartTrial) -> None:
        self._validate(command)

    @workflow.update
    async def select_plan(self, command: SelectPlan) -> CommandResult:
        """Choose a plan (during a trial: the plan billing starts with)."""
        return await self._execute(command)

    @select_plan.validator
    def _v_select_plan(self, command: SelectPlan) -> None:
        self._validate(command)

    @workflow.update
    async def change_plan(self, command: ChangePlan) -> CommandResult:
        """Upgrade now (prorated) or downgrade at period end."""
        return await self._execute(command)

    @change_plan.validator
    def _v_change_plan(self, command: ChangePlan) -> None:
        self._validate(command)

    @workflow.update
    async def assign_seat(self, command: AssignSeat) -> CommandResult:
        """Give a member a paid seat."""
        return await self._execute(command)

    @assign_seat.validator
    def _v_assign_seat(self, command: AssignSeat) -> None:
        self._validate(command)

    @workflow.update
    async def unassign_seat(self, command: UnassignSeat) -> CommandResult:
        """Take a member's paid seat away."""
        return await self._execute(command)

    @unassign_seat.validator
    def _v_unassign_seat(self, command: UnassignSeat) -> None:
        self._validate(command)

    @workflow.update
    async def change_seat(self, command: ChangeSeat) -> CommandResult:
        """Change a seat's type (upgrade now, downgrade at period end)."""
        return await self._execute(command)

    @change_seat.validator
    def _v_change_seat(self, command: ChangeSeat) -> None:
        self._validate(command)

    @workflow.update
    async def add_member(self, command: AddMember) -> CommandResult:
        """Add a member to the roster."""
        return await self._execute(command)

    @add_member.validator
    def _v_add_member(self, command: AddMember) -> None:
        self._validate(command)

    @workflow.update
    async def set_role(self, command: SetRole) -> CommandResult:
        """Change a member's role (a new admin grant restarts its grant time)."""
        return await self._execute(command)

    @set_role.validator
    def _v_set_role(self, command: SetRole) -> None:
        self._validate(command)

    @workflow.update
    async def remove_member(self, command: RemoveMember) -> CommandResult:
        """Remove a member from the roster."""
        return await self._execute(command)

    @remove_member.validator
    def _v_remove_member(self, command: RemoveMember) -> None:
        self._validate(command)

    @workflow.update
    async def cancel(self, command: Cancel) -> CommandResult:
        """Cancel at the end of the current period."""
        return await self._execute(command)

    @cancel.validator
    def _v_cancel(self, command: Cancel) -> None:
        self._validate(command)

    @workflow.update
    async def clear_cancellation(self, command: ClearCancellation) -> CommandResult:
        """Withdraw a pending cancellation."""
        return await self._execute(command)

    @clear_cancellation.validator
    def _v_clear_cancellation(self, command: ClearCancellation) -> None:
        self._validate(command)

    @workflow.update
    async def reactivate(self, command: Reactivate) -> CommandResult:
        """Clear a pending cancellation, or restore a reverted workspace."""
        return await self._execute(command)

    @reactivate.validator
    def _v_reactivate(self, command: Reactivate) -> None:
        self._validate(command)

    @workflow.update
    async def extend_trial(self, command: ExtendTrial) -> CommandResult:
        """Support staff: extend the trial by some days."""
        return await self._execute(command)

    @extend_trial.validator
    def _v_extend_trial(self, command: ExtendTrial) -> None:
        self._validate(command)

    @workflow.update
    async def set_contract(self, command: SetContract) -> CommandResult:
        """Support staff: set a sales contract."""
        return await self._execute(command)

    @set_contract.validator
    def _v_set_contract(self, command: SetContract) -> None:
        self._validate(command)

    @workflow.update
    async def request_seats(self, command: RequestSeats) -> CommandResult:
        """An admin asks to buy more seats under the contract (recorded for sales)."""
        return await self._execute(command)

    @request_seats.validator
    def _v_request_seats(self, command: RequestSeats) -> None:
        self._validate(command)

    @workflow.update
    async def approve_seats(self, command: ApproveSeats) -> CommandResult:
        """Support staff: approve a seat request; its seats are charged at the unit price."""
        return await self._execute(command)

    @approve_seats.validator
    def _v_approve_seats(self, command: ApproveSeats) -> None:
        self._validate(command)

    @workflow.update
    async def delete_workspace(self, command: DeleteWorkspaceCommand) -> CommandResult:
        """Delete everything (confirm with the workspace id); the workflow then ends."""
        return await self._execute(command)

    @delete_workspace.validator
    def _v_delete_workspace(self, command: DeleteWorkspaceCommand) -> None:
        self._validate(command)

    # --- facts (Signals) and reads (Queries) --------------------------------------

    @workflow.signal
    def request_cancellation(self, request: CancellationRequest) -> None:
        """Support staff ask to cancel at period end (applied by the loop, never raises)."""
        self._cancellations.append(request)
        self._wake = True

    @workflow.signal
    def invoice_status(self, fact: InvoiceFact) -> None:
        """An invoice was paid, failed, became overdue or was voided."""
        self._facts.append(fact)
        self._wake = True

    @workflow.query
    def billing_overview(self) -> Overview:
        """Everything the billing page shows that the subscription knows."""
        return overview(self._state, self._catalog, self._now())

    @workflow.query
    def state(self) -> BillingState:
        """The full subscription state (support and the simulator)."""
        return self._state

    @workflow.query
    def quote(self, request: PreviewRequest) -> QuoteAnswer:
        """The invoice lines a command would add, without applying it (or its refusal)."""
        try:
            at = max(self._now(), request.at) if request.at else self._now()
            return QuoteAnswer(preview=preview(self._state, request.command, at, self._catalog))
        except DomainError as error:
            details = {k: v for k, v in error.details.items() if isinstance(v, str | int | float | bool)}
            return QuoteAnswer(refusal=Refusal(code=error.code, message=error.message, details=details))
