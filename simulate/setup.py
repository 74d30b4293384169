"""The workspace a scenario registers, and who support staff are in its steps.

Each step's command is `simulate.steps.step_command`."""

from __future__ import annotations

from billing.workspace import Agent
from billing.workspace import Member as WorkspaceMember
from contracts.workspace import ConnectionSetup, DataSourceSetup, DocumentSetup, WorkspaceSetup
from simulate.scenario import LoadedScenario

STAFF = "staff:simulate"


def workspace_setup(loaded: LoadedScenario, workspace_id: str) -> WorkspaceSetup:
    """The workspace as the scenario describes it."""
    spec, start = loaded.scenario.workspace, loaded.scenario.start
    return WorkspaceSetup(
        workspace_id=workspace_id,
        billing_contact_email=spec.billing_contact_email or f"billing@{spec.id}.test",
        spaces=spec.spaces,
        members=[
            WorkspaceMember(
                user_id=m.user, role=m.role, role_granted_at=m.role_granted_at or start, email=m.email
            )
            for m in spec.members
        ],
        connections=[
            ConnectionSetup(
                id=c.id,
                kind=c.kind,
                documents=[DocumentSetup(id=f"{c.id}-synced", bytes=c.bytes)] if c.bytes else [],
            )
            for c in spec.connection_specs()
        ],
        data_sources=[DataSourceSetup(id=d.id, bytes=d.bytes) for d in spec.data_sources],
        agents=[Agent(id=a) for a in spec.agents],
        slack_bot=spec.slack_bot,
    )
