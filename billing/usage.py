"""Usage events and the credit rules that price them (SPEC §1.2, §1.4, §4).

Pure domain: no I/O, no clock. Credits are integers. Allowances, overage and contract
projections live in `billing.projection`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    StringConstraints,
    TypeAdapter,
)

from billing.errors import INVALID_ARGUMENT, DomainError


def _as_utc(value: datetime) -> datetime:
    # Any explicit offset is accepted and normalised, so equal instants compare and
    # serialise identically; naive values never get here (AwareDatetime rejects them).
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_as_utc)]
"""A timezone-aware instant, normalised to UTC. Naive datetimes are rejected."""

# Client-chosen and compared verbatim: no surrounding whitespace, so " a" never aliases "a".
EventId = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^\S(?:.*\S)?$")]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: EventId
    at: UtcDatetime


class AssetMaterialization(_Event):
    """An asset materialized over ``partitions`` partitions.

    ``step_execution=False`` means the materialization was reported from a sensor by an
    external system: no compute ran.
    """

    kind: Literal["asset_materialization"]
    partitions: PositiveInt = 1
    step_execution: bool = True


class ObservableSourceExecution(_Event):
    """One execution of an observable source asset (e.g. a discovery run)."""

    kind: Literal["observable_source_execution"]


class DynamicPartitionsAdded(_Event):
    """``count`` dynamic partitions added: a metadata update."""

    kind: Literal["dynamic_partitions_added"]
    count: NonNegativeInt


class AssetObservation(_Event):
    """One asset observation."""

    kind: Literal["asset_observation"]


class AssetCheck(_Event):
    """One asset check execution."""

    kind: Literal["asset_check"]


class SensorEvaluation(_Event):
    """One sensor evaluation."""

    kind: Literal["sensor_evaluation"]


class ServerlessMinutes(_Event):
    """Serverless compute minutes; billed per minute, never in credits."""

    kind: Literal["serverless_minutes"]
    minutes: NonNegativeInt


UsageEvent = Annotated[
    AssetMaterialization
    | ObservableSourceExecution
    | DynamicPartitionsAdded
    | AssetObservation
    | AssetCheck
    | SensorEvaluation
    | ServerlessMinutes,
    Field(discriminator="kind"),
]
"""One usage event, discriminated on ``kind``."""

EVENT_KINDS: frozenset[str] = frozenset(
    {
        "asset_materialization",
        "observable_source_execution",
        "dynamic_partitions_added",
        "asset_observation",
        "asset_check",
        "sensor_evaluation",
        "serverless_minutes",
    }
)

_EVENT_ADAPTER: TypeAdapter[UsageEvent] = TypeAdapter(UsageEvent)


def parse_event(raw: Mapping[str, object]) -> UsageEvent:
    """Validate one raw event (raises pydantic `ValidationError` when malformed)."""
    return _EVENT_ADAPTER.validate_python(raw)


class CreditRules(BaseModel):
    """Credit cost of each usage event kind: catalog data (the ``[credit_rules]`` table).

    Defaults equal SPEC §1.2 (seed 001); the shipped catalogs state them explicitly.
    Per-partition rules multiply by the event's partition count.

    Attributes:
        materialization_per_partition: asset materialization backed by a step
            execution, per partition.
        sensor_reported_materialization: materialization reported from a sensor
            (no step execution), per partition.
        observable_source_execution: one observable source asset execution.
        dynamic_partitions_added: per dynamic partition added (metadata only).
        asset_observation: one asset observation.
        asset_check: one asset check execution.
        sensor_evaluation: one sensor evaluation.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    materialization_per_partition: NonNegativeInt = 1
    sensor_reported_materialization: NonNegativeInt = 0
    observable_source_execution: NonNegativeInt = 1
    dynamic_partitions_added: NonNegativeInt = 0
    asset_observation: NonNegativeInt = 0
    asset_check: NonNegativeInt = 0
    sensor_evaluation: NonNegativeInt = 0


def credit_cost(event: UsageEvent, rules: CreditRules) -> int:
    """Credits one event costs under the catalog's rules (serverless minutes cost none)."""
    match event:
        case AssetMaterialization(step_execution=True):
            return event.partitions * rules.materialization_per_partition
        case AssetMaterialization():
            return event.partitions * rules.sensor_reported_materialization
        case ObservableSourceExecution():
            return rules.observable_source_execution
        case DynamicPartitionsAdded():
            return event.count * rules.dynamic_partitions_added
        case AssetObservation():
            return rules.asset_observation
        case AssetCheck():
            return rules.asset_check
        case SensorEvaluation():
            return rules.sensor_evaluation
        case ServerlessMinutes():
            return 0


class UsageTotals(BaseModel):
    """Credits and serverless minutes used in a window."""

    model_config = ConfigDict(frozen=True)

    credits: NonNegativeInt = 0
    serverless_minutes: NonNegativeInt = 0

    def __add__(self, other: UsageTotals) -> UsageTotals:
        return UsageTotals(
            credits=self.credits + other.credits,
            serverless_minutes=self.serverless_minutes + other.serverless_minutes,
        )


def totals(events: Iterable[UsageEvent], rules: CreditRules, start: datetime, end: datetime) -> UsageTotals:
    """Sum the usage of the events with ``start <= at < end``.

    Usage during a trial is free: callers pass the paid window only (a period that
    begins at the trial end), so trial events fall outside it.

    Raises:
        DomainError: ``invalid_argument`` when ``end`` is before ``start``.
    """
    if end < start:
        raise DomainError(
            INVALID_ARGUMENT,
            "usage window ends before it starts",
            {"start": start.isoformat(), "end": end.isoformat()},
        )
    credits = 0
    minutes = 0
    for event in events:
        if start <= event.at < end:
            credits += credit_cost(event, rules)
            if isinstance(event, ServerlessMinutes):
                minutes += event.minutes
    return UsageTotals(credits=credits, serverless_minutes=minutes)
