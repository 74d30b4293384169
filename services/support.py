"""What support staff read that customers do not: every invoice with its internal status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db import invoice_repo
from services.base import UnitOfWork


@dataclass(frozen=True)
class StaffInvoice:
    number: str
    issued_at: datetime
    total: int
    currency: str
    status: str  # the engine's own status (``unpaid``, ``overdue``...), not the display one
    attempt_count: int
    pdf_url: str | None


class SupportService:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def invoices(self, workspace_id: str) -> list[StaffInvoice]:
        """The workspace's invoices, newest first."""
        async with self._uow.read() as session:
            rows = await invoice_repo.workspace_invoices(session, workspace_id)
        return [
            StaffInvoice(
                number=r.number,
                issued_at=r.issued_at,
                total=r.total,
                currency=r.currency,
                status=r.status,
                attempt_count=r.attempt_count,
                pdf_url=r.invoice_pdf,
            )
            for r in rows
        ]
