"""Usage events and the credit rules that price them (SPEC §1.2, §1.4, §4).

Pure domain: no I/O, no clock. Credits are integers; ratios are `Fraction`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, NonNegativeInt


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
