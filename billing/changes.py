"""Typed state updates: ``evolve(model, field=value, ...)`` instead of
``model.model_copy(update={"field": value})``.

pydantic does not validate a ``model_copy`` update and mypy cannot see into its dict, so a
misspelt field or a wrong-typed value passed silently. Each model changed by a transition
has a ``TypedDict`` of its fields here (``total=False``: any subset); `evolve` takes them
as keyword arguments (PEP 692), so mypy checks every name and type. At run time it is
``model_copy`` itself. ``tests/unit/test_changes.py`` proves each ``TypedDict`` has exactly
its model's fields and annotations, so the two cannot drift.

The models are imported for type checking only: `billing.state` and the invoice models
use `evolve` too, and nothing here is needed at run time.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal, TypedDict, Unpack, overload

from pydantic import BaseModel

if TYPE_CHECKING:
    from pydantic import NonNegativeInt

    from billing.invoicing.invoices import (
        InvoiceDraft,
        InvoiceLine,
        InvoiceRef,
        InvoiceStatus,
        LineItem,
        LineKind,
        OpenInvoice,
    )
    from billing.periods import Cycle
    from billing.preview import Preview
    from billing.state import (
        BillingState,
        CommandResult,
        Contract,
        Member,
        PendingChange,
        PlanSegment,
        PrepaidSeat,
        Seat,
        SeatEntry,
        SeatRequest,
        Status,
        StockSeat,
        Trial,
    )
    from billing.usage import UtcDatetime
    from billing.workspace import (
        Agent,
        Connection,
        DataSource,
        MemberSeat,
        ScheduledDeletion,
        WorkspaceSnapshot,
    )
    from billing.workspace import Member as WorkspaceMember


class BillingStateChanges(TypedDict, total=False):
    workspace_id: str
    catalog_name: str
    status: Status
    rules: int
    plan: str | None
    trial: Trial | None
    anchor: UtcDatetime | None
    period_index: int
    period_start: UtcDatetime | None
    period_end: UtcDatetime | None
    plan_segments: tuple[PlanSegment, ...]
    pending_change: PendingChange | None
    pending_seat_changes: tuple[PendingChange, ...]
    cancel_at: UtcDatetime | None
    cancel_reason: str | None
    cancel_actor: str | None
    members: dict[str, Member]
    seat_ledger: tuple[SeatEntry, ...]
    seat_stock: tuple[StockSeat, ...]
    restorable_seats: tuple[Seat, ...]
    prepaid_seats: tuple[PrepaidSeat, ...]
    contract: Contract | None
    next_contract: Contract | None
    seat_requests: tuple[SeatRequest, ...]
    credit_balance: int
    accrued: tuple[InvoiceLine, ...]
    open_invoice: OpenInvoice | None
    invoices: tuple[InvoiceRef, ...]
    invoice_seq: int
    processed: dict[str, CommandResult]
    data_source_deletions: tuple[ScheduledDeletion, ...]
    deactivated_agents: tuple[str, ...]
    reverted_at: UtcDatetime | None
    deleted_at: UtcDatetime | None


class TrialChanges(TypedDict, total=False):
    started_at: UtcDatetime
    ends_at: UtcDatetime
    selected_plan: str | None
    noticed_end: UtcDatetime | None


class MemberChanges(TypedDict, total=False):
    role: str
    role_granted_at: UtcDatetime
    status: Literal["active", "suspended"]


class SeatChanges(TypedDict, total=False):
    user: str
    seat_type: str
    cycle: Cycle
    since: UtcDatetime
    paid_until: UtcDatetime | None


class StockSeatChanges(TypedDict, total=False):
    seat_type: str
    term_end: UtcDatetime
    reassignable_at: UtcDatetime
    released: bool


class SeatRequestChanges(TypedDict, total=False):
    id: str
    quantity: int
    requested_at: UtcDatetime
    requested_by: str | None
    note: str | None
    status: Literal["pending", "approved"]
    approved_at: UtcDatetime | None
    approved_by: str | None


class InvoiceLineChanges(TypedDict, total=False):
    kind: LineKind
    description: str
    quantity: int
    unit_amount: int
    amount: int
    period_start: UtcDatetime
    period_end: UtcDatetime
    item: LineItem | None


class OpenInvoiceChanges(TypedDict, total=False):
    issued_at: UtcDatetime
    finalize_at: UtcDatetime
    period_start: UtcDatetime
    period_end: UtcDatetime
    lines: tuple[InvoiceLine, ...]


class InvoiceRefChanges(TypedDict, total=False):
    number: str
    issued_at: UtcDatetime
    total: int
    status: InvoiceStatus
    overdue_at: UtcDatetime
    payment_failed_at: UtcDatetime | None
    decline_code: str | None
    action_required: bool
    action_url: str | None


class PreviewChanges(TypedDict, total=False):
    invoices: tuple[InvoiceDraft, ...]
    accrued: tuple[InvoiceLine, ...]
    draft: OpenInvoice | None
    draft_change: int
    effective_at: datetime | None


class WorkspaceSnapshotChanges(TypedDict, total=False):
    workspace_id: str
    members: list[WorkspaceMember]
    connections: list[Connection]
    data_sources: list[DataSource]
    agents: list[Agent]
    slack_bot: bool
    spaces: NonNegativeInt
    billing_contact_email: str | None


class WorkspaceMemberChanges(TypedDict, total=False):
    user_id: str
    role: str
    role_granted_at: UtcDatetime | None
    status: Literal["active", "suspended"]
    email: str | None
    seat: MemberSeat | None


class ConnectionChanges(TypedDict, total=False):
    id: str
    status: Literal["active", "deleted"]


class DataSourceChanges(TypedDict, total=False):
    id: str
    bytes: NonNegativeInt
    status: Literal["active", "deleted"]
    deletion_scheduled_at: UtcDatetime | None


class AgentChanges(TypedDict, total=False):
    id: str
    status: Literal["active", "deactivated"]


@overload
def evolve(model: BillingState, /, **changes: Unpack[BillingStateChanges]) -> BillingState: ...
@overload
def evolve(model: Trial, /, **changes: Unpack[TrialChanges]) -> Trial: ...
@overload
def evolve(model: Member, /, **changes: Unpack[MemberChanges]) -> Member: ...
@overload
def evolve(model: Seat, /, **changes: Unpack[SeatChanges]) -> Seat: ...
@overload
def evolve(model: StockSeat, /, **changes: Unpack[StockSeatChanges]) -> StockSeat: ...
@overload
def evolve(model: SeatRequest, /, **changes: Unpack[SeatRequestChanges]) -> SeatRequest: ...
@overload
def evolve(model: InvoiceLine, /, **changes: Unpack[InvoiceLineChanges]) -> InvoiceLine: ...
@overload
def evolve(model: OpenInvoice, /, **changes: Unpack[OpenInvoiceChanges]) -> OpenInvoice: ...
@overload
def evolve(model: InvoiceRef, /, **changes: Unpack[InvoiceRefChanges]) -> InvoiceRef: ...
@overload
def evolve(model: Preview, /, **changes: Unpack[PreviewChanges]) -> Preview: ...
@overload
def evolve(model: WorkspaceSnapshot, /, **changes: Unpack[WorkspaceSnapshotChanges]) -> WorkspaceSnapshot: ...
@overload
def evolve(model: WorkspaceMember, /, **changes: Unpack[WorkspaceMemberChanges]) -> WorkspaceMember: ...
@overload
def evolve(model: Connection, /, **changes: Unpack[ConnectionChanges]) -> Connection: ...
@overload
def evolve(model: DataSource, /, **changes: Unpack[DataSourceChanges]) -> DataSource: ...
@overload
def evolve(model: Agent, /, **changes: Unpack[AgentChanges]) -> Agent: ...
def evolve(model: BaseModel, /, **changes: object) -> BaseModel:
    """``model`` with ``changes`` (checked by mypy against the model's ``...Changes``)."""
    return model.model_copy(update=changes)


CHANGES: dict[str, type] = {
    "billing.state.BillingState": BillingStateChanges,
    "billing.state.Trial": TrialChanges,
    "billing.state.Member": MemberChanges,
    "billing.state.Seat": SeatChanges,
    "billing.state.StockSeat": StockSeatChanges,
    "billing.state.SeatRequest": SeatRequestChanges,
    "billing.invoicing.invoices.InvoiceLine": InvoiceLineChanges,
    "billing.invoicing.invoices.OpenInvoice": OpenInvoiceChanges,
    "billing.invoicing.invoices.InvoiceRef": InvoiceRefChanges,
    "billing.preview.Preview": PreviewChanges,
    "billing.workspace.WorkspaceSnapshot": WorkspaceSnapshotChanges,
    "billing.workspace.Member": WorkspaceMemberChanges,
    "billing.workspace.Connection": ConnectionChanges,
    "billing.workspace.DataSource": DataSourceChanges,
    "billing.workspace.Agent": AgentChanges,
}
"""The ``TypedDict`` of each model `evolve` accepts, by the model's qualified name (for the
drift test)."""
