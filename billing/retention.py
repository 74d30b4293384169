"""What reverting a workspace to the free tier does to its data, and what reactivation
restores (SPEC §2 "Revert to free" and "Reactivation").

Pure domain: decisions only. The plans returned here are data that a database activity
applies idempotently.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, NonNegativeInt, PositiveInt


class RetentionPolicy(BaseModel):
    """How a revert to free treats workspace data: catalog data (``[retention]`` table).

    The free plan's own limits (members, connectors, spaces) are not repeated here: they
    belong to the catalog's free plan and are passed to `plan_revert` as `FreeLimits`.

    Attributes:
        data_source_max_bytes: a data source strictly larger than this is deleted.
        deletion_delay_days: days between the revert and the deletion of such a source.
        keep_members: how many members keep access (the earliest-granted admins).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_source_max_bytes: NonNegativeInt = 50_000_000
    deletion_delay_days: NonNegativeInt = 7
    keep_members: PositiveInt = 1
