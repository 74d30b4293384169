"""`tenure dev --demo` for real: the printed link opens the demo workspace's billing page,
with the seats, the card and the invoices the seeding made; a second run reuses it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from cli.demo import demo_refusals
from cli.errors import REJECTED, CliError
from client import TenureError
from services.portal_tokens import COOKIE_NAME
from tests.integration.dev_process import (
    Dev,
    dev_ports,
    interrupt_and_check_nothing_is_left,
    running_dev,
    tenure,
)

pytestmark = pytest.mark.slow
LINK = re.compile(r"http://127\.0\.0\.1:\d+/billing/demo/enter\?token=[\w-]+")
# Startup plus the seeding (five invoices charged through the emulator, one roll-up).
STARTED_S = 240


def _link(dev: Dev) -> str:
    found = LINK.search(dev.wait_for("Billing page (demo)", timeout=10))
    assert found is not None, dev.seen[-5:]
    dev.wait_for("tenure show demo", timeout=10)
    return found.group()


def _open(link: str) -> str:
    """Follow the link as a browser does: the portal sets its cookie and shows the page."""
    with httpx.Client(timeout=30, follow_redirects=True) as browser:
        page = browser.get(link)
        assert page.status_code == 200, page.text
        assert COOKIE_NAME in browser.cookies
        return page.text


def _section(page: str, section: str) -> str:
    """The words of one section of the page (tags and spacing dropped)."""
    start = page.index(f'id="{section}"')
    end = page.find("</section>", start)
    return " ".join(re.sub(r"<[^>]+>", " ", page[start:end]).split())


def _invoices(page: str) -> list[tuple[str, str]]:
    return re.findall(r"(demo-\d{5}) \$[\d,.]+ (Paid|Unpaid|Overdue|Void)", _section(page, "invoices"))


def _pdf_links(page: str) -> list[str]:
    start = page.index('id="invoices"')
    return re.findall(r'href="(http://[^"]+/pdf)"', page[start : page.find("</section>", start)])


def test_dev_demo_seeds_a_workspace_its_link_shows_and_a_second_run_reuses(tmp_path: Path) -> None:
    ports = dev_ports()
    with running_dev(tmp_path, ports, "--demo", timeout=STARTED_S) as dev:
        first = _link(dev)
        page = _open(first)
        assert "Signed in as ada" in page
        assert 'id="read-only"' not in page  # ada administers billing: the page acts
        seats = _section(page, "seats")
        for row in ("Max annual 1", "Max monthly 1", "Pro annual 1", "Pro monthly 2"):
            assert row in seats, seats
        assert "Visa ending in 4242" in _section(page, "billing-information")
        invoices = _invoices(page)
        assert [status for _, status in invoices] == ["Unpaid", "Paid", "Paid", "Paid", "Paid"], invoices
        assert "1,560 of" in _section(page, "usage")  # the events, rolled up
        pdf = httpx.get(_pdf_links(page)[0], timeout=30)  # the emulator's document of the invoice
        assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
        # The hint works in a second terminal with nothing set.
        shown = tenure("show", "demo", "--json", ports=ports, cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        overview = json.loads(shown.stdout)
        assert overview["billing"]["workspace_id"] == "demo"
        assert overview["subscription"]["status"] == "active"
        # Made through the engine's own paths: its invariant checker finds nothing to say.
        verified = tenure("verify", "--workspace", "demo", ports=ports, cwd=tmp_path)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        interrupt_and_check_nothing_is_left(dev)

    with running_dev(tmp_path, ports, "--demo", timeout=STARTED_S) as dev:
        second = _link(dev)
        assert second != first
        again = _open(second)
        assert _invoices(again) == invoices  # the same workspace: nothing charged twice
        assert "Pro monthly 2" in _section(again, "seats")
        with httpx.Client(timeout=30) as browser:
            assert browser.get(first).status_code == 403  # a link opens once
        interrupt_and_check_nothing_is_left(dev)


def test_a_refused_step_is_one_line_naming_the_refusal() -> None:
    async def refused() -> None:
        raise TenureError("seat_limit_reached", "at most 100 paid seats")

    with pytest.raises(CliError) as raised:
        demo_refusals(refused)
    assert (raised.value.message, raised.value.exit_code) == (
        "--demo: seat_limit_reached: at most 100 paid seats",
        REJECTED,
    )
