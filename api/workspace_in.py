"""The body of ``POST /v1/workspaces``: a workspace and its entities, as the product knows them.

Stricter than `contracts.workspace.WorkspaceSetup` (which it converts to): ids and lengths fit the
database columns, every id is unique in its kind, and lifecycle marks (suspended, deleted,
scheduled deletions) are not the caller's to set: everything registered starts active.
"""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, ConfigDict, Field, model_validator

from billing.usage import UtcDatetime
from contracts.workspace import WorkspaceSetup
from services.ids import Email, EntityId, Role, Size, UserId, WorkspaceId

MAX_ITEMS = 10_000


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DocumentIn(_Body):
    id: EntityId
    bytes: Size


class MemberIn(_Body):
    user_id: UserId
    role: Role
    role_granted_at: UtcDatetime | None = Field(
        default=None, description="When the current role was granted (the earliest admin stays at a revert)."
    )
    email: Email | None = None  # paid seats are assigned by command (they are billed), not here


class ConnectionIn(_Body):
    id: EntityId
    kind: str = Field(default="generic", min_length=1, max_length=40)
    documents: list[DocumentIn] = Field(default_factory=list, max_length=MAX_ITEMS)


class DataSourceIn(_Body):
    id: EntityId
    bytes: Size
    documents: list[DocumentIn] = Field(default_factory=list, max_length=MAX_ITEMS)


class AgentIn(_Body):
    id: EntityId


class WorkspaceIn(_Body):
    """A workspace to register (creating it twice is harmless: the second changes nothing)."""

    workspace_id: WorkspaceId
    billing_contact_email: Email | None = None
    spaces: int = Field(default=0, ge=0, le=1_000_000)
    members: list[MemberIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    connections: list[ConnectionIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    data_sources: list[DataSourceIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    agents: list[AgentIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    slack_bot: bool = False

    @model_validator(mode="after")
    def _unique_ids(self) -> WorkspaceIn:
        kinds = {
            "member": [m.user_id for m in self.members],
            "connection": [c.id for c in self.connections],
            "data source": [d.id for d in self.data_sources],
            "agent": [a.id for a in self.agents],
            # A document belongs to one connection or data source.
            "document": [d.id for c in self.connections for d in c.documents]
            + [d.id for s in self.data_sources for d in s.documents],
        }
        for kind, ids in kinds.items():
            repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
            if repeated:
                raise ValueError(f"duplicate {kind} ids: {', '.join(repeated[:10])}")
        return self

    def setup(self) -> WorkspaceSetup:
        """The registration the activities write."""
        return WorkspaceSetup.model_validate(self.model_dump())
