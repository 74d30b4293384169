"""Every e-mail template renders its subject, text and HTML from the data its effect carries."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from activities.email_render import TemplateMissing, build_message, message_id, render, template_names
from tests.integration.email.support import AT

ROOT = Path(__file__).resolve().parents[3]
WS = {"workspace_id": "ws-acme"}

# template: (data as the effect writes it, subject, words the text and the HTML must show)
CASES: dict[str, tuple[dict[str, Any], str, list[str]]] = {
    "data_source_deletion_warning": (
        {
            "delete_at": "2026-03-08T00:00:00+00:00",
            "data_sources": [
                {"data_source_id": "ds-big", "bytes": 60_000_000, "delete_at": "2026-03-08T00:00:00+00:00"}
            ],
        },
        "Your data sources will be deleted on 8 March 2026",
        ["8 March 2026, 00:00 UTC", "ds-big", "60.0 MB"],
    ),
    "payment_failed": (
        {
            "number": "INV-0007",
            "next_retry_at": "2026-09-06T09:00:00+00:00",
            "total": 3000,
            "currency": "usd",
        },
        "Payment failed for invoice INV-0007",
        ["INV-0007", "6 September 2026", "USD 30.00"],
    ),
    "payment_action_required": (
        {
            "number": "INV-0010",
            "code": "authentication_required",
            "hosted_invoice_url": "https://pay.example.test/in_1",
            "total": 4500,
            "currency": "usd",
        },
        "Invoice INV-0010: your bank asks you to confirm the payment",
        ["INV-0010", "USD 45.00", "https://pay.example.test/in_1", "authenticate"],
    ),
    "receipt": (
        {
            "number": "INV-0008",
            "total": 650000,
            "currency": "usd",
            "paid_at": "2026-09-04T00:00:00+00:00",
            "invoice_pdf": "https://pay.example/inv_8.pdf",
            "hosted_invoice_url": "https://pay.example/inv_8",
        },
        "Receipt for invoice INV-0008",
        ["USD 6,500.00", "https://pay.example/inv_8.pdf", "4 September 2026"],
    ),
    "trial_ending": (
        {"ends_at": "2026-09-15T00:00:00+00:00", "plan": "business"},
        "Your trial ends on 15 September 2026",
        ["business", "15 September 2026, 00:00 UTC"],
    ),
    "cancel_requested": (
        {"ends_at": "2026-11-03T00:00:00+00:00"},
        "Your subscription is canceled as of 3 November 2026",
        ["3 November 2026, 00:00 UTC"],
    ),
    "reverted_to_free": ({"reason": "payment_failed"}, "Your workspace is on the free plan now", ["payment"]),
    "reactivated": (
        {"plan": "pro", "period_end": "2027-01-07T00:00:00+00:00"},
        "Welcome back: your subscription is active again",
        ["pro", "7 January 2027"],
    ),
    "invoice_overdue": ({"number": "INV-0009"}, "Invoice INV-0009 is overdue", ["INV-0009", "past due"]),
    "trial_expired": ({}, "Your trial has ended", ["Select a plan"]),
}


def test_every_template_has_a_case_and_both_parts() -> None:
    assert template_names() == sorted(CASES)


def _sent_templates() -> set[str]:
    """Every template name the code asks to send (the rules' SendEmail effects, the revert's warning)."""
    found: set[str] = set()
    for folder in ("billing", "activities"):
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(re.findall(r'template="([a-z_]+)"', path.read_text()))
    return found


def test_every_template_the_code_sends_exists() -> None:
    assert _sent_templates() - {"trial_ending"} <= set(template_names())
    assert "trial_ending" in template_names()  # another change emits it 3 days before the end


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_template_renders_text_and_html(name: str) -> None:
    data, subject, words = CASES[name]
    rendered = render(name, {**WS, **data})
    assert rendered.subject == subject
    for part in (rendered.text, rendered.html):
        for word in words:
            assert word in part, (name, word)
        assert "ws-acme" in part
    assert rendered.html.lstrip().startswith("<!DOCTYPE html>")
    assert "<" not in rendered.text


def test_old_rows_without_the_new_fields_still_render() -> None:
    """Rows written before the rules carried the retry date, the end date, the totals."""
    assert "try again" not in render("payment_failed", {**WS, "number": "INV-1"}).text
    assert "end of what is paid" in render("cancel_requested", WS).text
    assert render("receipt", {**WS, "number": "INV-1"}).subject == "Receipt for invoice INV-1"
    assert render("reactivated", WS).subject.startswith("Welcome back")


def test_html_is_escaped_and_text_is_not() -> None:
    rendered = render("invoice_overdue", {"workspace_id": "<b>acme</b> & co", "number": "INV-<1>"})
    assert "INV-&lt;1&gt;" in rendered.html
    assert "&lt;b&gt;acme&lt;/b&gt; &amp; co" in rendered.html
    assert "Invoice INV-<1> is overdue" in rendered.text


def test_missing_data_and_missing_templates_are_errors() -> None:
    with pytest.raises(TemplateMissing):
        render("no_such_template", WS)
    with pytest.raises(Exception, match="number"):
        render("invoice_overdue", WS)


def test_the_message_is_multipart_alternative_with_a_stable_message_id() -> None:
    rendered = render("trial_expired", WS)
    built = build_message(
        rendered, from_address="Tenure <billing@acme.test>", to=["a@acme.test"], idempotency_key="k1", date=AT
    )
    parsed = message_from_bytes(built.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["Message-ID"] == message_id("k1", "billing@acme.test")
    assert parsed["Message-ID"] == message_id("k1", "Tenure <billing@acme.test>")
    assert parsed["Message-ID"] != message_id("k2", "billing@acme.test")
    assert parsed["Message-ID"].endswith("@acme.test>")
