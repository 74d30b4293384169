"""The composition root: every workflow and activity of Tenure, wired to its dependencies."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from importlib.metadata import version
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import Interceptor, PollerBehaviorSimpleMaximum, Worker, WorkerDeploymentConfig
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.email_relay import EmailRelayActivities
from activities.health import HealthActivities
from activities.invoices import InvoiceActivities
from activities.payments import PaymentGateway
from activities.posting import PostingActivities
from activities.rollup import RollupActivities
from activities.smtp import SmtpConfig
from activities.stripe_gateway import StripeGateway, gateway_for
from activities.usage import UsageActivities
from activities.webhook_delivery import WebhookActivities
from activities.workspace import WorkspaceActivities
from config.settings import Settings
from db.engine import session_factory
from workflows.email_relay import EmailRelayWorkflow
from workflows.health import WorkerHealthWorkflow
from workflows.invoice import InvoiceWorkflow
from workflows.rollup import UsageRollupWorkflow
from workflows.subscription import SubscriptionWorkflow
from workflows.webhook_delivery import WebhookDispatcherWorkflow

WORKFLOWS: Sequence[type] = (
    WorkerHealthWorkflow,
    SubscriptionWorkflow,
    InvoiceWorkflow,
    UsageRollupWorkflow,
    WebhookDispatcherWorkflow,
    EmailRelayWorkflow,
)


def activities(engine: AsyncEngine, gateway: PaymentGateway) -> list[Callable[..., Any]]:
    """Every activity of the main task queue (database only), bound to its dependencies.

    Only what workflows run (`contracts.activities`); what the edges do in process is in
    `services/`.
    """
    sessions = session_factory(engine)
    workspace = WorkspaceActivities(sessions)
    usage = UsageActivities(sessions)
    health = HealthActivities(engine)
    invoices = InvoiceActivities(sessions, gateway)
    rollup = RollupActivities(sessions)
    webhooks = WebhookActivities(sessions)
    return [
        health.database_ping,
        usage.usage_totals,
        workspace.record_decision,
        workspace.record_command,
        workspace.load_snapshot,
        workspace.apply_revert,
        workspace.apply_reactivation,
        workspace.delete_due_data_sources,
        workspace.delete_workspace_data,
        *_posting(invoices),
        invoices.persist_invoice,
        invoices.mark_invoice,
        rollup.rollup_usage,
        webhooks.webhook_pending,
        webhooks.deliver_webhook,
        webhooks.mark_endpoint_failing,
        *email_activities(sessions),
    ]


def _posting(invoices: InvoiceActivities) -> list[Callable[..., Any]]:
    posting = PostingActivities(invoices)
    return [posting.post_invoice, posting.post_invoice_local]


# --- the e-mail relay (issue 15) ---------------------------------------------------------
def email_activities(
    sessions: async_sessionmaker[AsyncSession], smtp: SmtpConfig | None = None
) -> list[Callable[..., Any]]:
    """The relay's activity; its SMTP settings are the process's (``smtp_*``) unless given.

    Read here rather than passed down by every caller of `activities`: the relay is the
    only activity that needs them, and tests that drive it build it with their sink's.
    """
    relay = EmailRelayActivities(sessions, smtp or SmtpConfig.of(Settings()))
    return [relay.send_due_emails]


def stripe_activities(engine: AsyncEngine, gateway: PaymentGateway) -> list[Callable[..., Any]]:
    """The activities that call Stripe: they run on their own, rate-limited task queue."""
    invoices = InvoiceActivities(session_factory(engine), gateway)
    return [invoices.collect_invoice, invoices.refresh_invoice, invoices.void_invoice]


def stripe_gateway(settings: Settings) -> StripeGateway:
    """The Stripe adapter of the worker: it cannot collect invoices without one."""
    gateway = gateway_for(settings)
    if gateway is None:
        raise SystemExit("STRIPE_API_KEY is not set: give a Stripe secret key (or use `tenure dev`)")
    return gateway


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox, with our pure domain and our workflow modules passed through.

    The sandbox re-imports every module it does not pass through for each workflow run, so
    each cached subscription would carry its own copy of `billing` (pydantic-heavy), of the
    `contracts` messages and of the workflow modules: measured 246 KiB per cached
    subscription, 159 KiB with `billing` and the workflows passed through (goal 200). All are
    deterministic by construction: `billing` has no I/O and no clock, `contracts` is data,
    the workflow modules take time from `workflow.now()` and do I/O only through activities,
    keep no module state, and the replay tests run them against recorded histories. The
    sandbox still guards every other module.
    """
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("billing", "contracts", "workflows")
    )


@dataclass(frozen=True)
class WorkerLimits:
    """Per-process limits of the two workers; None keeps the SDK's default."""

    max_cached_workflows: int | None = None
    max_concurrent_activities: int | None = None
    stripe_activities_per_second: float | None = None
    # On shutdown (SIGTERM), how long in-flight activities may finish before they are cancelled.
    graceful_shutdown_timeout_s: float | None = None
    workflow_task_pollers: int | None = None
    sticky_schedule_to_start_s: float | None = None

    @classmethod
    def of(cls, settings: Settings) -> WorkerLimits:
        """The limits a deployment sets."""
        return cls(
            settings.max_cached_workflows,
            settings.max_concurrent_activities,
            settings.stripe_activities_per_second,
            settings.graceful_shutdown_timeout_s,
            settings.workflow_task_pollers,
            settings.sticky_schedule_to_start_s,
        )

    def workflow_polling(self) -> dict[str, Any]:
        """The main worker's workflow-task polling arguments that are set."""
        polling: dict[str, Any] = {}
        if self.workflow_task_pollers is not None:
            # max_concurrent_workflow_task_polls is deprecated for this; 1 in 5 polls the normal queue.
            polling["workflow_task_poller_behavior"] = PollerBehaviorSimpleMaximum(self.workflow_task_pollers)
        if self.sticky_schedule_to_start_s is not None:
            timeout = timedelta(seconds=self.sticky_schedule_to_start_s)
            polling["sticky_queue_schedule_to_start_timeout"] = timeout
        return polling


def build_workers(
    client: Client,
    engine: AsyncEngine,
    gateway: PaymentGateway,
    *,
    task_queue: str,
    stripe_task_queue: str | None,
    limits: WorkerLimits = WorkerLimits(),
    workflows: Sequence[type] = WORKFLOWS,
    main_activities: Sequence[Callable[..., Any]] | None = None,
    stripe_side: Sequence[Callable[..., Any]] | None = None,
    interceptors: Sequence[Interceptor] = (),
    deployment: WorkerDeploymentConfig | None = None,
) -> list[Worker]:
    """The main worker (workflows, database activities) and, unless ``stripe_task_queue`` is
    None, the Stripe worker: the one wiring of the worker process, the tests and the benches.

    Stripe activities have their own task queue so one server-side limit
    (`max_task_queue_activities_per_second`, shared by every worker process polling it)
    keeps a month-start burst of invoices under Stripe's rate limit. Tests about
    orchestration pass same-name fakes as ``main_activities``/``stripe_side``. With a
    ``deployment`` (`deployment_config`) both workers poll as that Worker Deployment Version.
    """
    concurrency: dict[str, Any] = _set(max_concurrent_activities=limits.max_concurrent_activities)
    if deployment is not None:
        concurrency["deployment_config"] = deployment
    if limits.graceful_shutdown_timeout_s is not None:
        concurrency["graceful_shutdown_timeout"] = timedelta(seconds=limits.graceful_shutdown_timeout_s)
    main = Worker(
        client,
        task_queue=task_queue,
        workflows=list(workflows),
        activities=list(activities(engine, gateway) if main_activities is None else main_activities),
        workflow_runner=workflow_runner(),
        interceptors=interceptors,
        **_set(max_cached_workflows=limits.max_cached_workflows),
        **limits.workflow_polling(),
        **concurrency,
    )
    if stripe_task_queue is None:
        return [main]
    payments = Worker(
        client,
        task_queue=stripe_task_queue,
        activities=list(stripe_activities(engine, gateway) if stripe_side is None else stripe_side),
        interceptors=interceptors,
        **_set(max_task_queue_activities_per_second=limits.stripe_activities_per_second),
        **concurrency,
    )
    return [main, payments]


# --- worker versioning (docs/upgrading.md) -------------------------------------------------
def deployment_config(settings: Settings) -> WorkerDeploymentConfig | None:
    """The Worker Deployment Version this process polls as, or None when versioning is off.

    Every workflow defaults to AUTO_UPGRADE: a subscription lives for years and continues as
    new, an invoice may dun for weeks, so pinning either would keep old builds alive for a
    billing period; instead, changes to workflow code go behind `workflow.patched` and the
    replay tests (docs/histories.md), and a new current version takes every run at its next
    workflow task. The Stripe worker belongs to the same version so a version's activities
    run on its own build.
    """
    if not settings.worker_versioning:
        return None
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(settings.worker_deployment_name, build_id(settings)),
        use_worker_versioning=True,
        default_versioning_behavior=VersioningBehavior.AUTO_UPGRADE,
    )


def build_id(settings: Settings) -> str:
    """The build id the settings give, else the installed package's version."""
    if settings.worker_build_id:
        return settings.worker_build_id
    return version("tenure")


def _set(**options: int | float | None) -> dict[str, Any]:
    return {k: v for k, v in options.items() if v is not None}
