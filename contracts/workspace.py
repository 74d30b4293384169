"""Messages of the workspace activities: registering a workspace, deleting its data.

Every instant is the workflow's (``workflow.now()`` or a recorded plan instant), so a retried
activity writes the same rows.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt

from billing.usage import UtcDatetime
from billing.workspace import Agent, Connection, DataSource, Member


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DocumentSetup(_Message):
    """A document synced from a connection or stored in a data source."""

    id: str
    bytes: NonNegativeInt


class ConnectionSetup(Connection):
    """A connection with the documents synced from it."""

    kind: str = "generic"
    documents: list[DocumentSetup] = Field(default_factory=list)


class DataSourceSetup(DataSource):
    """A data source (``bytes`` is its combined size) with its documents, if modelled."""

    documents: list[DocumentSetup] = Field(default_factory=list)


class WorkspaceSetup(_Message):
    """The whole description of a workspace: registering it again converges to this."""

    workspace_id: str
    billing_contact_email: str | None = None
    spaces: NonNegativeInt = 0
    members: list[Member] = []
    connections: list[ConnectionSetup] = []
    data_sources: list[DataSourceSetup] = []
    agents: list[Agent] = []
    slack_bot: bool = False


class DueDeletions(_Message):
    """Delete the workspace's data sources whose deletion is due at ``at``."""

    workspace_id: str
    at: UtcDatetime


class WorkspaceDeletion(_Message):
    """Delete everything of a workspace except its billing records ("delete everything")."""

    workspace_id: str
    at: UtcDatetime
