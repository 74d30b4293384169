"""What a scenario sends: the workspace it registers and the command of each step."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from billing import (
    AddMember,
    AssignSeat,
    Cancel,
    ChangePlan,
    ChangeSeat,
    Command,
    DeleteWorkspaceCommand,
    Reactivate,
    SelectPlan,
    SetContract,
    SetRole,
    StartTrial,
    UnassignSeat,
)
from billing.periods import add_months
from billing.records import ConnectionSetup, DataSourceSetup, DocumentSetup, WorkspaceSetup
from billing.workspace import Agent
from billing.workspace import Member as WorkspaceMember
from simulate.scenario import LoadedScenario, Step
from simulate.watchdog import SimulationError

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


def step_command(index: int, step: Step, actor: str, workspace_id: str) -> Command:
    """The command a step sends (request ids follow the step numbers: reruns match)."""
    common: dict[str, Any] = {"request_id": f"simulate-step-{index + 1}", "actor": actor}
    args = step.args.model_dump(exclude_none=True)
    match step.verb:
        case "start_trial":
            return StartTrial(**common)
        case "select_plan":
            return SelectPlan(**common, **args)
        case "change_plan":
            return ChangePlan(**common, **args)
        case "assign_seat":
            return AssignSeat.model_validate({**common, **args})
        case "unassign_seat":
            return UnassignSeat(**common, **args)
        case "change_seat":
            return ChangeSeat.model_validate({**common, **args})
        case "add_member":
            return AddMember(**common, **args)
        case "set_role":
            return SetRole(**common, **args)
        case "cancel":
            return Cancel(**common, **args)
        case "reactivate":
            return Reactivate(**common)
        case "set_contract":
            starts_at: datetime = args.pop("starts_at", step.at)
            ends_at: datetime = args.pop(
                "ends_at",
                add_months(starts_at, 12).replace(
                    hour=starts_at.hour, minute=starts_at.minute, second=starts_at.second
                ),
            )
            contract = {**args, "starts_at": starts_at, "ends_at": ends_at}
            return SetContract(
                **{**common, "actor": STAFF if step.actor is None else common["actor"]}, **contract
            )
        case "delete_workspace":
            return DeleteWorkspaceCommand(**common, confirm=workspace_id)
    raise SimulationError(f"no command for verb {step.verb!r}")
