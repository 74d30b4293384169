"""Invoicing: what a line charges, drafts, posting, payment status and dunning.

- `invoices`: the line, draft and invoice models (`InvoiceLine`, `LineItem`, `InvoiceDraft`...).
- `charges`: the recurring seat and plan lines and their prices.
- `drafts`: the draft window of in-advance invoices (amend, take a seat off, post).
- `posting`: one invoice posted: accrued adjustments, credit balance, number.
- `dunning`: payment facts, overdue and the final failure.

Nothing is imported here: `billing.state` needs `invoices` while `posting` needs the state.
"""
