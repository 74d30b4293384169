"""Usage ingestion (SPEC §4): ONE parser (`services.usage_batch.parse_batch`) and ONE writer
(`db.usage_ingest`, COPY staging then one merge) for the API and for `tenure simulate`.

A batch is idempotent by event id: an id already stored for its workspace, or repeated inside
the batch (the first occurrence is kept), counts as a duplicate and changes nothing. A
malformed batch (`BatchRefused`) or one naming an unknown or deleted workspace stores nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import JsonValue
from sqlalchemy import select

from billing.catalog import Catalog
from billing.errors import DomainError
from contracts.errors import WORKSPACE_DELETED, WORKSPACE_NOT_FOUND
from db import usage_ingest
from db.workspace_models import WorkspaceRow
from observability import metrics
from services.base import UnitOfWork
from services.usage_batch import ParsedBatch, parse_batch, valid_workspace_id


@dataclass(frozen=True)
class Counts:
    """What a batch held for one workspace: ``received`` = ``new`` + ``duplicates``."""

    received: int
    new: int

    @property
    def duplicates(self) -> int:
        return self.received - self.new


@dataclass(frozen=True)
class Ingested:
    workspaces: dict[str, Counts]  # per workspace named by the batch, sorted by id

    @property
    def total(self) -> Counts:
        return Counts(
            received=sum(c.received for c in self.workspaces.values()),
            new=sum(c.new for c in self.workspaces.values()),
        )


def _check_workspaces(batch: ParsedBatch, known: Mapping[str, object]) -> None:
    for code, missing in (
        (WORKSPACE_NOT_FOUND, sorted(w for w in batch.received if w not in known)),
        (WORKSPACE_DELETED, sorted(w for w in batch.received if known.get(w) is not None)),
    ):
        if missing:
            indexes = sorted(i for w in missing for i in batch.indexes[w])
            what = "no workspace" if code == WORKSPACE_NOT_FOUND else "deleted workspace"
            raise DomainError(
                code,
                f"{what} {', '.join(map(repr, missing[:5]))}: nothing of the batch was stored",
                {"workspace_ids": missing, "indexes": indexes},
            )


class UsageService:
    def __init__(self, uow: UnitOfWork, catalog: Catalog) -> None:
        self._uow = uow
        self._catalog = catalog

    async def ingest(self, body: bytes, workspace_id: str | None = None) -> Ingested:
        """Parse, price and store a raw JSON batch ``{"events": [...]}``.

        Args:
            body: the batch as received.
            workspace_id: the workspace of every event, or None when each names its own.

        Raises:
            BatchRefused: a malformed batch (``details.index`` names the event).
            DomainError: ``workspace_not_found`` or ``workspace_deleted``.
        """
        if workspace_id is not None and not valid_workspace_id(workspace_id):
            raise DomainError(
                WORKSPACE_NOT_FOUND, f"no workspace {workspace_id!r}", {"workspace_ids": [workspace_id]}
            )
        batch = parse_batch(body, self._catalog.credit_rules, workspace_id)
        if workspace_id is not None:
            batch.received.setdefault(workspace_id, 0)
            batch.indexes.setdefault(workspace_id, [])
        async with self._uow.write() as session:
            query = select(WorkspaceRow.id, WorkspaceRow.deleted_at).where(
                WorkspaceRow.id.in_(list(batch.received))
            )
            known = {ws: deleted_at for ws, deleted_at in (await session.execute(query)).tuples().all()}
            _check_workspaces(batch, known)
            new = await usage_ingest.ingest(session, batch.rows, batch.escape)
        metrics.usage_ingested(sum(batch.received.values()), sum(new.values()))
        return Ingested({w: Counts(received=n, new=new.get(w, 0)) for w, n in sorted(batch.received.items())})

    async def ingest_events(self, workspace_id: str, events: Sequence[Mapping[str, JsonValue]]) -> Counts:
        """Store decoded events of one workspace exactly as the API would store them as a body
        (`tenure simulate`'s usage steps: the write production would receive)."""
        body = json.dumps({"events": list(events)}).encode()
        return (await self.ingest(body, workspace_id)).workspaces[workspace_id]
