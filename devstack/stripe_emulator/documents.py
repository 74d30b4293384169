"""The hosted invoice page (HTML) and the invoice PDF that the emulator serves.

The PDF is written by hand (one page, Helvetica, ASCII text) so it needs no
dependency yet is a valid document: correct xref offsets, ``%PDF-`` header,
``%%EOF`` trailer.
"""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentLine:
    """One printed line of an invoice."""

    description: str
    quantity: int
    amount: int


@dataclass(frozen=True)
class InvoiceDocument:
    """What the page and the PDF show."""

    invoice_id: str
    number: str | None
    status: str
    customer_name: str
    currency: str
    lines: list[DocumentLine]
    total: int
    amount_paid: int
    amount_remaining: int


def money(amount: int, currency: str) -> str:
    """Format minor units as ``12.34 USD`` (two decimals; good enough for a test page)."""
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{sign}{whole}.{cents:02d} {currency.upper()}"


def render_html(doc: InvoiceDocument) -> str:
    """Render the hosted invoice page.

    Args:
        doc: the invoice to show.

    Returns:
        A complete HTML document.
    """
    esc = html.escape
    rows = "\n".join(
        f"<tr><td>{esc(line.description)}</td><td>{line.quantity}</td>"
        f'<td class="amount">{esc(money(line.amount, doc.currency))}</td></tr>'
        for line in doc.lines
    )
    title = f"Invoice {doc.number or doc.invoice_id}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{esc(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}td.amount{{text-align:right}}</style></head>
<body>
<h1>{esc(title)}</h1>
<p>Billed to: {esc(doc.customer_name)}</p>
<p>Status: <strong id="status">{esc(doc.status)}</strong></p>
<table>
<thead><tr><th>Description</th><th>Qty</th><th>Amount</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<p>Total: <strong id="total">{esc(money(doc.total, doc.currency))}</strong></p>
<p>Amount paid: {esc(money(doc.amount_paid, doc.currency))}</p>
<p>Amount remaining: {esc(money(doc.amount_remaining, doc.currency))}</p>
<p><a href="{esc(doc.invoice_id)}/pdf">Download PDF</a></p>
</body>
</html>
"""


def _pdf_text(text: str) -> str:
    # PDF literal strings: escape the delimiters; Helvetica here is ASCII only.
    ascii_text = text.encode("ascii", "replace").decode("ascii")
    return ascii_text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


_MAX_LINES = 40


def render_pdf(doc: InvoiceDocument) -> bytes:
    """Render the invoice as a one-page PDF.

    Args:
        doc: the invoice to print.

    Returns:
        The PDF file's bytes.
    """
    texts = [
        f"Invoice {doc.number or doc.invoice_id}",
        f"Billed to: {doc.customer_name}",
        f"Status: {doc.status}",
        "",
    ]
    for line in doc.lines[:_MAX_LINES]:
        texts.append(f"{line.description}  x{line.quantity}  {money(line.amount, doc.currency)}")
    if len(doc.lines) > _MAX_LINES:
        texts.append(f"... and {len(doc.lines) - _MAX_LINES} more lines")
    texts += [
        "",
        f"Total: {money(doc.total, doc.currency)}",
        f"Amount remaining: {money(doc.amount_remaining, doc.currency)}",
    ]
    ops = ["BT", "/F1 11 Tf", "14 TL", "50 790 Td"]
    for text in texts:
        ops.append(f"({_pdf_text(text)}) Tj T*")
    ops.append("ET")
    stream = "\n".join(ops).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode()
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n").encode()
    return bytes(out)
