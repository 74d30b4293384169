"""Process settings: one typed object per process, read from the environment.

Nothing is read at import time: call `Settings()` in a composition root (the CLI,
the worker, the API factory) and pass the value down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The search attributes of SPEC §6, registered on every Temporal server we start and
# listed in docker-compose.yml; workflows upsert them, so they must exist first.
SEARCH_ATTRIBUTES: dict[str, str] = {
    "TenureStatus": "Keyword",
    "TenurePlan": "Keyword",
    "TenureCatalog": "Keyword",
    "TenurePaidSeats": "Int",
    "TenurePeriodEnd": "Datetime",
    "TenureCancelAt": "Datetime",
}


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Every setting of Tenure, its environment variable and default.

    The README's configuration table is generated from this class
    (`tenure config --markdown`), so the two cannot drift apart.
    """

    model_config = SettingsConfigDict(env_prefix="TENURE_", extra="ignore", populate_by_name=True)

    # --- application database -------------------------------------------------
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the application database (postgresql+psycopg://...). "
        "Unset under `tenure dev`: the embedded PostgreSQL is used.",
    )

    database_pool_size: int = Field(
        default=20,
        ge=1,
        description="Connections each worker or API process keeps to the database (as many "
        "again may overflow under bursts); every command writes its record in one transaction.",
    )

    # --- Temporal ---------------------------------------------------------------
    temporal_address: str = Field(
        default="127.0.0.1:7233",
        validation_alias=_env("TEMPORAL_ADDRESS"),
        description="Temporal frontend host:port (Temporal Cloud: <ns>.<acct>.tmprl.cloud:7233).",
    )
    temporal_namespace: str = Field(
        default="default",
        validation_alias=_env("TEMPORAL_NAMESPACE"),
        description="Temporal namespace.",
    )
    temporal_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=_env("TEMPORAL_API_KEY"),
        description="Temporal Cloud API key (turns TLS on).",
    )
    temporal_tls: bool | None = Field(
        default=None,
        validation_alias=_env("TEMPORAL_TLS"),
        description="Force TLS on/off; client certificates come from the standard "
        "TEMPORAL_TLS_* variables or a TEMPORAL_PROFILE (temporalio.envconfig).",
    )
    task_queue: str = Field(default="tenure", description="Task queue of workflows and DB activities.")
    stripe_task_queue: str = Field(
        default="tenure-stripe", description="Task queue of the rate-limited Stripe activities."
    )
    max_cached_workflows: int = Field(
        default=2000, ge=0, description="Workflows kept in the worker's sticky cache."
    )
    max_concurrent_activities: int = Field(default=100, ge=1, description="Activities a worker runs at once.")
    graceful_shutdown_timeout_s: float = Field(
        default=30.0,
        ge=0,
        description="On SIGTERM, how long the worker lets in-flight activities finish, then cancels them.",
    )
    workflow_task_pollers: int = Field(
        default=5, ge=2, description="Concurrent workflow-task polls of a worker (sticky and normal queue)."
    )
    sticky_schedule_to_start_s: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a workflow task waits on its worker's sticky queue before any worker may "
        "take it (with the whole history, replayed). The SDK's 10 s keeps a crashed worker's "
        "workflows moving; 120 s halved the month-start burst's task timeouts (docs/benchmarks.md).",
    )
    stripe_activities_per_second: float = Field(
        default=25.0,
        gt=0,
        description="Cap on Stripe activities per second across the task queue "
        "(Stripe's test-mode limit is 25).",
    )

    # --- Stripe -----------------------------------------------------------------
    stripe_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=_env("STRIPE_API_KEY"),
        description="Stripe secret key. Unset under `tenure dev`: the Stripe emulator is started.",
    )
    stripe_api_base: str | None = Field(
        default=None,
        description="Override of Stripe's API address (the emulator's URL in development).",
    )
    stripe_publishable_key: str | None = Field(
        default=None,
        description="Stripe publishable key (pk_...) the billing page gives Stripe.js to take a card; "
        "unused against the emulator, whose own test-card form stands in.",
    )
    stripe_webhook_secret: SecretStr | None = Field(
        default=None,
        validation_alias=_env("STRIPE_WEBHOOK_SECRET"),
        description="Signing secret of the Stripe webhook endpoint (whsec_...).",
    )
    stripe_event_redrive_s: float = Field(
        default=30.0,
        gt=0,
        description="How often the API re-sends Stripe events it stored but could not hand to their "
        "invoice's workflow (a crash or Temporal down); also the age an event must reach first.",
    )
    stripe_webhook_deliver_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=20,
        description="How long the Stripe webhook waits for Temporal to take an event before it "
        "answers 503 (Stripe retries; the event stays pending).",
    )

    # --- API --------------------------------------------------------------------
    api_host: str = Field(default="127.0.0.1", description="Address the HTTP API binds to.")
    api_port: int = Field(default=8000, ge=1, le=65535, description="Port of the HTTP API.")
    api_max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Largest request body the API reads (413 beyond; a 10,000-event usage batch is ~3 MB).",
    )
    # --- the billing page (docs/billing-page.md) ---------------------------------
    portal_secret: SecretStr | None = Field(
        default=None,
        description="Key (at least 32 bytes) signing the billing page's session cookies. Unset: "
        "portal sessions are refused (503); `tenure dev` makes one in `<data_dir>/portal-secret`.",
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL of the API as a browser reaches it, for portal links (unset: the "
        "address the backend asking for the link used).",
    )
    api_graceful_shutdown_s: float = Field(
        default=30.0, ge=0, description="On SIGTERM, how long the API lets in-flight requests finish."
    )
    # --- overload and idempotency (issue 18) -------------------------------------
    command_retry_deadline_s: float = Field(
        default=10.0,
        ge=0,
        description="How long a command rejected for load (10 Updates in flight) or aborted by "
        "a continue-as-new is retried before the caller gets 429 or 503.",
    )
    command_in_flight_per_workspace: int = Field(
        default=5,
        ge=1,
        le=10,
        description="Commands one process keeps in flight per workspace; the rest wait their turn. "
        "Keep processes x this <= 10 (Temporal's limit): beyond it throughput collapses.",
    )
    idempotency_key_ttl_s: float = Field(
        default=24 * 3600.0,
        gt=0,
        description="How long a stored Idempotency-Key answers with its first response.",
    )
    # --- webhook deliveries (docs/webhooks.md) -----------------------------------
    webhook_rate_per_second: float = Field(
        default=20.0, ge=1, description="Delivery attempts started per second, per webhook endpoint, at most."
    )
    webhook_retry_horizon_s: float = Field(
        default=3 * 24 * 3600.0,
        gt=0,
        description="How long an event is retried (exponential backoff) before its endpoint "
        "is marked failing.",
    )
    webhook_initial_backoff_s: float = Field(
        default=5.0, gt=0, description="Wait after a first failed delivery; it doubles on each failure."
    )
    webhook_max_backoff_s: float = Field(
        default=3600.0, gt=0, description="Longest wait between two delivery attempts of an event."
    )
    webhook_poll_interval_s: float = Field(
        default=1.0,
        gt=0,
        description="How often each endpoint's dispatcher reads the event log for new events.",
    )
    webhook_request_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=10,
        description="How long one delivery request may take before it counts as failed.",
    )

    # --- metrics (issue 19, docs/operations.md) -----------------------------------
    metrics_host: str = Field(
        default="127.0.0.1",
        description="Address the worker's metrics ports bind to (0.0.0.0 to scrape remotely).",
    )
    worker_metrics_port: int = Field(
        default=9464,
        ge=0,
        le=65535,
        description="Port of the Temporal SDK's own metrics on the worker (Prometheus text; 0: off).",
    )
    worker_tenure_metrics_port: int = Field(
        default=9465,
        ge=0,
        le=65535,
        description="Port of Tenure's metrics on the worker (activities, Stripe backlog; 0: off).",
    )

    # --- product ----------------------------------------------------------------
    catalog: str = Field(
        default="seats",
        description="Plan catalog: a shipped name (`seats`, `credits`) or a path to a TOML file.",
    )

    # --- embedded development stack (`tenure dev`) ------------------------------
    data_dir: Path = Field(
        default=Path(".tenure"),
        description="Where `tenure dev` keeps PostgreSQL and Temporal data.",
    )
    dev_postgres_port: int = Field(default=5433, ge=1, le=65535, description="Embedded PostgreSQL port.")
    dev_temporal_port: int = Field(default=7233, ge=1, le=65535, description="Dev Temporal gRPC port.")
    dev_temporal_ui_port: int = Field(default=8233, ge=1, le=65535, description="Temporal Web UI port.")
    dev_stripe_port: int = Field(default=12111, ge=1, le=65535, description="Stripe emulator port.")

    # --- e-mail: the outbox relay over SMTP (docs/email.md) ---------------------
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server the e-mail relay sends through.")
    smtp_port: int = Field(
        default=1025, ge=1, le=65535, description="SMTP port (1025: the dev sink of `tenure dev`)."
    )
    smtp_tls: Literal["none", "starttls", "tls"] = Field(
        default="none",
        description="`starttls` upgrades a plain connection (port 587), `tls` connects over TLS "
        "(port 465), `none` only for a local sink.",
    )
    smtp_user: str | None = Field(default=None, description="SMTP login (none: no authentication).")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_from: str = Field(
        default="Tenure <billing@tenure.localhost>", description="The From address of every e-mail."
    )
    smtp_timeout_s: float = Field(default=30.0, gt=0, description="Timeout of each SMTP command.")
    email_poll_s: float = Field(
        default=2.0, gt=0, description="How often the relay looks for e-mails to send."
    )
    dev_smtp_port: int = Field(
        default=1025, ge=1, le=65535, description="Port of the SMTP sink `tenure dev` starts."
    )

    # --- worker versioning: Temporal Worker Deployments (docs/upgrading.md) ------
    worker_versioning: bool = Field(
        default=False,
        description="Poll as a version of a Worker Deployment (`worker_deployment_name` + "
        "`worker_build_id`); new runs go to the deployment's current version, which an operator "
        "sets (docs/upgrading.md). Off: unversioned workers, as `tenure dev` and tests run.",
    )
    worker_deployment_name: str = Field(
        default="tenure", description="Worker Deployment the worker belongs to (versioning on)."
    )
    worker_build_id: str | None = Field(
        default=None,
        description="Build id of this worker's code (versioning on); unset: the installed "
        "`tenure` package version. Give a new one to every release (e.g. the image tag or git sha).",
    )
    # --- issue 19: traces and logs (docs/operations.md) -------------------------
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        validation_alias=_env("OTEL_EXPORTER_OTLP_ENDPOINT", "TENURE_OTEL_EXPORTER_OTLP_ENDPOINT"),
        description="OTLP/HTTP collector base URL (spans go to its /v1/traces); unset: tracing off.",
    )
    otel_service_name: str = Field(
        default="tenure",
        validation_alias=_env("OTEL_SERVICE_NAME", "TENURE_OTEL_SERVICE_NAME"),
        description="`service.name` of every span (set tenure-api, tenure-worker per process).",
    )
    otel_sample_ratio: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Share of new traces recorded (children follow).",
    )
    log_format: Literal["json", "text"] = Field(
        default="json", description="`json`: one JSON object a line; `text` for a terminal."
    )
    log_level: str = Field(default="INFO", description="Level of the process's logs (DEBUG, INFO...).")
    # --- encrypted payloads and the codec server (docs/operations.md) -----------
    payload_keys: SecretStr | None = Field(
        default=None,
        description="AES-256 keys of the payload codec, `id:base64key` separated by commas "
        "(`tenure keys generate`); the first encrypts, all decrypt. Unset, with no key file: "
        "payloads are stored in clear.",
    )
    payload_keys_file: Path | None = Field(
        default=None,
        description="A file holding the payload keys in the same form (one a line); "
        "`tenure dev` creates and uses `<data_dir>/payload-keys`.",
    )
    codec_auth: Literal["staff", "none"] = Field(
        default="staff",
        description="Who may call the codec server (`/codec/decode`, `/codec/encode`): `staff` "
        "needs a staff token; `none` is for `tenure dev` on 127.0.0.1 or behind a proxy that "
        "lets only support staff through.",
    )
    codec_cors_origins: str = Field(
        default="http://localhost:8233,http://127.0.0.1:8233",
        description="Temporal Web UI origins allowed to call the codec server (comma-separated).",
    )


def environment_variables() -> dict[str, str]:
    """Map every setting to the environment variable that sets it.

    Returns:
        ``{field_name: ENV_VAR}`` for every field of `Settings`.
    """
    names: dict[str, str] = {}
    prefix = Settings.model_config.get("env_prefix", "")
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names[name] = str(alias.choices[0])
        else:
            names[name] = f"{prefix}{name}".upper()
    return names
