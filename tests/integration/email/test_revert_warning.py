"""End to end through the database: a revert's data-source deletion warning reaches the SMTP
sink, with the deletion date and the sources, addressed to the billing contact."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from activities.workspace import WorkspaceActivities
from db.engine import session_factory
from devstack.smtp_sink import SmtpSink
from services.workspaces import store_workspace
from tests.integration.email.support import outbox, relay
from tests.integration.workspace_support import new_workspace_id, revert_plan, setup_for


async def test_a_reverts_deletion_warning_lands_in_the_sink(engine: AsyncEngine, smtp_sink: SmtpSink) -> None:
    ws = new_workspace_id()
    acts = WorkspaceActivities(session_factory(engine))
    await store_workspace(session_factory(engine), setup_for(ws))
    plan = revert_plan(await acts.load_snapshot(ws))
    await acts.apply_revert(plan)
    await acts.apply_revert(plan)  # an activity retried: still one e-mail

    result = await relay(engine, smtp_sink).drain()
    assert result.sent == 1
    [mail] = smtp_sink.messages()
    assert mail.to == ["billing@example.com"]
    assert mail.subject == "Your data sources will be deleted on 8 March 2026"
    text = mail.text()
    assert "ds-big (60.0 MB), deleted on 8 March 2026" in text
    assert "ds-small" not in text  # under the free plan's size: kept
    assert "ds-big" in mail.html()
    message = mail.message()
    assert message["X-Tenure-Template"] == "data_source_deletion_warning"
    assert message["Date"] == "Sun, 01 Mar 2026 00:00:00 +0000"  # the revert's instant
    [row] = await outbox(engine, ws)
    assert row["recipients"] == ["billing@example.com"]
