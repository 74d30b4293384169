"""One typed reference per activity a workflow runs: its name, input, output, queue and policy.

Workflows call activities only through these (`workflows.calls`), activities take their name
from them (`@activity.defn(name=REF.name)`), and `tests/static/test_activity_contracts.py`
proves that each reference has exactly one registered implementation with the same types. The
names are recorded in every history: never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from types import NoneType
from typing import Any, Generic, Literal, TypeVar

from temporalio.common import RetryPolicy

from billing.workspace import ReactivationPlan, RevertPlan, WorkspaceSnapshot
from contracts import errors
from contracts.email import RelayJob, RelayResult
from contracts.invoices import (
    CollectInvoice,
    CollectResult,
    InvoiceJob,
    InvoiceView,
    MarkInvoice,
    PersistInvoice,
    VoidInvoice,
)
from contracts.records import DecisionRecord
from contracts.usage import RollupJob, RollupResult, UsageWindow, UsageWindowTotals
from contracts.webhooks import EndpointFailing, PendingEvents, PendingQuery, WebhookAttempt, WebhookOutcome
from contracts.workspace import DueDeletions, WorkspaceDeletion

I = TypeVar("I")  # noqa: E741  # the conventional name of an input type
O = TypeVar("O")  # noqa: E741

Queue = Literal["main", "stripe"]

# Database activities are idempotent, so retrying them until the database is back is safe.
# Only a failure retrying cannot fix is final: an unknown (or deleted) workspace, an unknown
# invoice. The subscription's policy named the first and the invoice's named none; one list
# serves both because each activity can raise only its own codes (the activities raise these
# non-retryable already: the list keeps a code raised without the flag from retrying for hours).
DB_TIMEOUT = timedelta(seconds=30)
DB_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=[
        errors.WORKSPACE_NOT_FOUND,
        errors.WORKSPACE_DELETED,
        errors.INVOICE_NOT_FOUND,
    ],
)

# Stripe calls retry on outages (429/5xx/timeouts) for up to a day; declines and invalid
# requests are final at once.
STRIPE_TIMEOUT = timedelta(seconds=60)
STRIPE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=[
        errors.CARD_DECLINED,
        errors.STRIPE_INVALID_REQUEST,
        errors.STRIPE_IDEMPOTENCY_CONFLICT,
        errors.INVOICE_NOT_FOUND,
    ],
)

# A first roll-up reads every event once; later ones only the days touched since the last.
ROLLUP_TIMEOUT = timedelta(minutes=15)
ROLLUP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=2))

# A health probe answers now or reports the failure: retrying would only hide it.
PING_TIMEOUT = timedelta(seconds=5)
PING_RETRY = RetryPolicy(maximum_attempts=1)


@dataclass(frozen=True)
class ActivityRef(Generic[I, O]):
    """An activity as workflows see it.

    Attributes:
        name: the activity type recorded in histories.
        input: the type of its one argument (``NoneType``: it takes none).
        output: the type of its result (``NoneType``: it returns nothing).
        start_to_close: how long one attempt may run.
        retry: the retry policy of every call.
        queue: ``main`` runs on the workflow's own task queue, ``stripe`` on the rate-limited
            Stripe queue whose name the caller passes (a deployment setting).
        local: run as a local activity (in the workflow's worker, no task-queue round trip).
        heartbeat: the heartbeat timeout of a long activity that heartbeats (None: none), so
            a worker killed mid-attempt is noticed in that time rather than at
            ``start_to_close`` (the chaos bench found e-mails waiting 5 minutes).
    """

    name: str
    input: type[I]
    output: type[O]
    start_to_close: timedelta
    retry: RetryPolicy
    queue: Queue
    local: bool = False
    heartbeat: timedelta | None = None

    @property
    def takes_argument(self) -> bool:
        """False when the activity takes no argument."""
        return self.input is not NoneType


# --- the subscription workflow --------------------------------------------------------------
RECORD_DECISION: ActivityRef[DecisionRecord, None] = ActivityRef(
    "record_decision", DecisionRecord, NoneType, DB_TIMEOUT, DB_RETRY, "main", local=True
)
# The same record for a command, as a regular activity (patch ``record-after-acceptance``):
# it runs after the task accepting the command's Update is in history (`EffectRunner.record`).
RECORD_COMMAND: ActivityRef[DecisionRecord, None] = ActivityRef(
    "record_command", DecisionRecord, NoneType, DB_TIMEOUT, DB_RETRY, "main"
)
LOAD_SNAPSHOT: ActivityRef[str, WorkspaceSnapshot] = ActivityRef(
    "load_snapshot", str, WorkspaceSnapshot, DB_TIMEOUT, DB_RETRY, "main"
)
APPLY_REVERT: ActivityRef[RevertPlan, None] = ActivityRef(
    "apply_revert", RevertPlan, NoneType, DB_TIMEOUT, DB_RETRY, "main"
)
APPLY_REACTIVATION: ActivityRef[ReactivationPlan, None] = ActivityRef(
    "apply_reactivation", ReactivationPlan, NoneType, DB_TIMEOUT, DB_RETRY, "main"
)
DELETE_DUE_DATA_SOURCES: ActivityRef[DueDeletions, list[str]] = ActivityRef(
    "delete_due_data_sources", DueDeletions, list[str], DB_TIMEOUT, DB_RETRY, "main"
)
DELETE_WORKSPACE_DATA: ActivityRef[WorkspaceDeletion, None] = ActivityRef(
    "delete_workspace_data", WorkspaceDeletion, NoneType, DB_TIMEOUT, DB_RETRY, "main"
)
POST_INVOICE: ActivityRef[InvoiceJob, bool] = ActivityRef(
    "post_invoice", InvoiceJob, bool, DB_TIMEOUT, DB_RETRY, "main"
)
# The same posting as a local activity (patch ``post-invoice-local``): it runs inside the
# renewal's workflow task, which then continues as new at once (no second workflow task).
POST_INVOICE_LOCAL: ActivityRef[InvoiceJob, bool] = ActivityRef(
    "post_invoice_local", InvoiceJob, bool, DB_TIMEOUT, DB_RETRY, "main", local=True
)
USAGE_TOTALS: ActivityRef[list[UsageWindow], list[UsageWindowTotals]] = ActivityRef(
    "usage_totals", list[UsageWindow], list[UsageWindowTotals], DB_TIMEOUT, DB_RETRY, "main"
)

# --- the invoice workflow -------------------------------------------------------------------
PERSIST_INVOICE: ActivityRef[PersistInvoice, InvoiceView] = ActivityRef(
    "persist_invoice", PersistInvoice, InvoiceView, DB_TIMEOUT, DB_RETRY, "main"
)
MARK_INVOICE: ActivityRef[MarkInvoice, InvoiceView] = ActivityRef(
    "mark_invoice", MarkInvoice, InvoiceView, DB_TIMEOUT, DB_RETRY, "main"
)
COLLECT_INVOICE: ActivityRef[CollectInvoice, CollectResult] = ActivityRef(
    "collect_invoice", CollectInvoice, CollectResult, STRIPE_TIMEOUT, STRIPE_RETRY, "stripe"
)
REFRESH_INVOICE: ActivityRef[str, InvoiceView] = ActivityRef(
    "refresh_invoice", str, InvoiceView, STRIPE_TIMEOUT, STRIPE_RETRY, "stripe"
)
VOID_INVOICE: ActivityRef[VoidInvoice, InvoiceView] = ActivityRef(
    "void_invoice", VoidInvoice, InvoiceView, STRIPE_TIMEOUT, STRIPE_RETRY, "stripe"
)

# --- the roll-up and health workflows -------------------------------------------------------
ROLLUP_USAGE: ActivityRef[RollupJob, RollupResult] = ActivityRef(
    "rollup_usage", RollupJob, RollupResult, ROLLUP_TIMEOUT, ROLLUP_RETRY, "main"
)
DATABASE_PING: ActivityRef[None, str] = ActivityRef(
    "database_ping", NoneType, str, PING_TIMEOUT, PING_RETRY, "main"
)

# --- the webhook dispatcher -----------------------------------------------------------------
# One attempt is one request (at most 10 s, a setting) and two short transactions: the timeout
# is also how soon a killed worker's attempt is tried again. HTTP failures are outcomes, not
# errors (the workflow schedules them); only the database failing is retried here.
WEBHOOK_TIMEOUT = timedelta(seconds=15)
WEBHOOK_PENDING: ActivityRef[PendingQuery, PendingEvents] = ActivityRef(
    "webhook_pending", PendingQuery, PendingEvents, DB_TIMEOUT, DB_RETRY, "main"
)
DELIVER_WEBHOOK: ActivityRef[WebhookAttempt, WebhookOutcome] = ActivityRef(
    "deliver_webhook", WebhookAttempt, WebhookOutcome, WEBHOOK_TIMEOUT, DB_RETRY, "main"
)
MARK_ENDPOINT_FAILING: ActivityRef[EndpointFailing, None] = ActivityRef(
    "mark_endpoint_failing", EndpointFailing, NoneType, DB_TIMEOUT, DB_RETRY, "main"
)

# --- the e-mail relay (issue 15) ---------------------------------------------------------
# One run long-polls for up to 4 minutes, heartbeating after each e-mail and each pause (at
# most a minute while SMTP is down): a worker lost mid-run is noticed at the heartbeat
# timeout, its row locks die with its connections, and the retry resumes. Failures of one
# e-mail are recorded on its row, so the activity itself only fails when the database is away.
EMAIL_RELAY_TIMEOUT = timedelta(minutes=5)
EMAIL_RELAY_HEARTBEAT = timedelta(seconds=90)
EMAIL_RELAY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=1))
SEND_DUE_EMAILS: ActivityRef[RelayJob, RelayResult] = ActivityRef(
    "send_due_emails",
    RelayJob,
    RelayResult,
    EMAIL_RELAY_TIMEOUT,
    EMAIL_RELAY_RETRY,
    "main",
    heartbeat=EMAIL_RELAY_HEARTBEAT,
)

ALL: tuple[ActivityRef[Any, Any], ...] = (
    RECORD_DECISION,
    RECORD_COMMAND,
    LOAD_SNAPSHOT,
    APPLY_REVERT,
    APPLY_REACTIVATION,
    DELETE_DUE_DATA_SOURCES,
    DELETE_WORKSPACE_DATA,
    POST_INVOICE,
    POST_INVOICE_LOCAL,
    USAGE_TOTALS,
    PERSIST_INVOICE,
    MARK_INVOICE,
    COLLECT_INVOICE,
    REFRESH_INVOICE,
    VOID_INVOICE,
    ROLLUP_USAGE,
    DATABASE_PING,
    WEBHOOK_PENDING,
    DELIVER_WEBHOOK,
    MARK_ENDPOINT_FAILING,
    SEND_DUE_EMAILS,
)
