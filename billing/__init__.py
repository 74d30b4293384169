"""Tenure's pure domain: money, periods, catalogs, subscription state and its rules.

No I/O, no clock, no Temporal: every function takes the time it needs as ``at``.
Workflows call `new_subscription`, `apply`/`validate`, `advance`/`next_deadline`/
`usage_due`, `preview` and `on_invoice_event`, and perform the returned effects.
"""

from billing.catalog import Catalog, CatalogError, Plan, SeatType, load_catalog, parse_catalog
from billing.changes import BillingStateChanges, evolve
from billing.commands import (
    COMMAND_ADAPTER,
    AddMember,
    ApproveSeats,
    AssignSeat,
    Cancel,
    ChangePlan,
    ChangeSeat,
    ClearCancellation,
    Command,
    DeleteWorkspaceCommand,
    ExtendTrial,
    Reactivate,
    RemoveMember,
    RequestSeats,
    SelectPlan,
    SetContract,
    SetRole,
    StartTrial,
    UnassignSeat,
)
from billing.deadlines import advance, next_deadline, usage_due
from billing.decision import Decision
from billing.effects import (
    DeleteDataSource,
    DeleteWorkspace,
    Effect,
    PostInvoice,
    ReactivateWorkspace,
    RecordEvent,
    RevertWorkspace,
    SendEmail,
)
from billing.errors import DomainError
from billing.invoicing.dunning import InvoiceEvent, dunning_schedule, on_invoice_event, overdue_at
from billing.invoicing.invoices import (
    InvoiceDraft,
    InvoiceLine,
    InvoiceRef,
    ItemKind,
    LineItem,
    LineKind,
    OpenInvoice,
)
from billing.lifecycle import (
    apply,
    new_subscription,
    remember_revert,
    schedule_data_source_deletions,
    validate,
)
from billing.money import round_half_up
from billing.periods import Period, add_months, anchored_period, annual_term, calendar_month
from billing.preview import Preview, preview
from billing.renewal import arrears_lines
from billing.revert import kept_member
from billing.state import (
    BillingState,
    CommandResult,
    Contract,
    Member,
    PendingChange,
    Seat,
    SeatEntry,
    StockSeat,
    Trial,
    seats_at_next_renewal,
    seats_held,
)
from billing.usage import UsageTotals
from billing.workspace import ScheduledDeletion

__all__ = [
    "COMMAND_ADAPTER",
    "AddMember",
    "ApproveSeats",
    "AssignSeat",
    "BillingState",
    "BillingStateChanges",
    "Cancel",
    "Catalog",
    "CatalogError",
    "ChangePlan",
    "ChangeSeat",
    "ClearCancellation",
    "Command",
    "CommandResult",
    "Contract",
    "Decision",
    "DeleteDataSource",
    "DeleteWorkspace",
    "DeleteWorkspaceCommand",
    "DomainError",
    "Effect",
    "ExtendTrial",
    "InvoiceDraft",
    "InvoiceEvent",
    "InvoiceLine",
    "InvoiceRef",
    "ItemKind",
    "LineItem",
    "LineKind",
    "Member",
    "OpenInvoice",
    "PendingChange",
    "Period",
    "Plan",
    "PostInvoice",
    "Preview",
    "Reactivate",
    "ReactivateWorkspace",
    "RecordEvent",
    "RemoveMember",
    "RequestSeats",
    "RevertWorkspace",
    "ScheduledDeletion",
    "Seat",
    "SeatEntry",
    "SeatType",
    "SelectPlan",
    "SendEmail",
    "SetContract",
    "SetRole",
    "StartTrial",
    "StockSeat",
    "Trial",
    "UnassignSeat",
    "UsageTotals",
    "add_months",
    "advance",
    "anchored_period",
    "annual_term",
    "apply",
    "arrears_lines",
    "calendar_month",
    "dunning_schedule",
    "evolve",
    "kept_member",
    "load_catalog",
    "new_subscription",
    "next_deadline",
    "on_invoice_event",
    "overdue_at",
    "parse_catalog",
    "preview",
    "remember_revert",
    "round_half_up",
    "schedule_data_source_deletions",
    "seats_at_next_renewal",
    "seats_held",
    "usage_due",
    "validate",
]
