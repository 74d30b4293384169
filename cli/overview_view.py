"""`tenure show`'s panels: the same billing page the API's overview answers (SPEC §5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

if TYPE_CHECKING:  # the service's model; importing the services at CLI start-up is not free
    from billing.allowance import UsageCard
    from services.overview import OverviewOut


def money(cents: int, currency: str) -> str:
    """``1234, "usd"`` → ``12.34 USD``."""
    return f"{cents / 100:,.2f} {currency.upper()}"


def _subscription_lines(page: OverviewOut) -> list[str]:
    o = page.subscription
    lines = [f"status [bold]{o.status}[/]  plan [bold]{o.plan or '-'}[/]  catalog {o.catalog}"]
    if o.contract:
        c = o.contract
        lines.append(f"contract {c.starts_at:%Y-%m-%d} → {c.ends_at:%Y-%m-%d}, {money(c.price, o.currency)}")
    elif o.period_start and o.period_end:
        lines.append(f"period {o.period_start:%Y-%m-%d} → {o.period_end:%Y-%m-%d}")
    if o.trial:
        lines.append(f"trial ends {o.trial.ends_at:%Y-%m-%d}: {o.trial.message}")
    if o.cancel_at:
        lines.append(f"[yellow]cancels at {o.cancel_at:%Y-%m-%d %H:%M} UTC[/]")
    for change in o.pending_changes:
        target = change.to_plan or change.to_seat_type or ""
        lines.append(f"pending: {change.kind} on {change.effective_at:%Y-%m-%d} {target}")
    lines.append(f"paid seats {o.paid_seat_count} (limit {o.seat_limit or '-'}, stock {o.seat_stock})")
    for group in o.paid_seats:
        renewal = f"{group.at_next_renewal} at renewal"
        lines.append(f"  {group.count} x {group.seat_type} ({group.cycle}), {renewal}")
    plans = ", ".join(
        f"[bold]{p.name}[/]" if p.current else f"{p.name}{' (contact sales)' if p.contact_sales else ''}"
        for p in o.plans
    )
    lines.append(f"plans: {plans}")
    return lines


def _card_line(card: UsageCard, currency: str) -> str:
    included = "no allowance" if card.included is None else f"of {card.included:,} included"
    text = f"{card.unit}: {card.used:,} used, {included}"
    if card.overage:
        text += f"; {card.overage:,} over, {money(card.overage_charge, currency)} so far"
    elif card.included is None and card.overage_charge:
        text += f"; {money(card.overage_charge, currency)} so far"
    return text


def print_overview(page: OverviewOut, console: Console) -> None:
    """The overview as panels and tables."""
    o = page.subscription
    console.print(Panel("\n".join(_subscription_lines(page)), title=f"workspace {o.workspace_id}"))
    usage = page.usage
    as_of = f"{usage.as_of:%Y-%m-%d %H:%M} UTC" if usage.as_of else "never rolled up yet"
    lines = [f"{usage.first_day} → {usage.last_day} ({usage.label}, as of {as_of})"]
    if page.usage_cards:
        lines += [_card_line(page.usage_cards.credits, o.currency)]
        lines += [_card_line(page.usage_cards.serverless_minutes, o.currency)]
    else:
        lines += [f"credits: {usage.credits:,}", f"serverless minutes: {usage.serverless_minutes:,}"]
    console.print(Panel("\n".join(lines), title="usage"))
    b = page.billing
    card = f"{b.card.brand} •••• {b.card.last4}" if b.card else "no card"
    taxes = ", ".join(f"{t.type} {t.value}" for t in b.tax_ids) or "no tax id"
    console.print(
        Panel(f"{b.billing_email or '-'}  {b.company_name or ''}\n{card}  {taxes}", title="billing")
    )
    if page.invoices:
        table = Table("invoice", "issued", "total", "status", "PDF", title="recent invoices")
        for i in page.invoices:
            table.add_row(
                i.number, f"{i.issued_at:%Y-%m-%d}", money(i.total, o.currency), i.status, i.pdf_url or ""
            )
        console.print(table)
    for r in o.seat_requests:
        console.print(f"seat request [bold]{r.id}[/]: {r.quantity} seats, {r.status} ({r.note or 'no note'})")
    for warning in page.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
