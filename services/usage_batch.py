"""Usage batches at the HTTP edge: the whole batch parsed in one pass, priced, de-duplicated.

A batch is ``{"events": [...]}`` of at most `MAX_EVENTS` events (SPEC §1.4 kinds; in the
bulk form each event also carries ``workspace_id``). The first offending event refuses the
whole batch: `BatchRefused` names its index. An id repeated inside one batch counts once
(the first occurrence is kept, the others are reported as duplicates), exactly as an id
repeated across batches does.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from billing.errors import INVALID_ARGUMENT, UNKNOWN_EVENT_KIND, DomainError
from billing.usage import EVENT_KINDS, CreditRules, ServerlessMinutes, UsageEvent, credit_cost
from db.usage_ingest import UsageRow
from services.ids import ID_PATTERN, WorkspaceId

MAX_EVENTS = 10_000
_INT8_MAX = 2**63 - 1  # credits and minutes are BIGINT columns
_EVENTS: TypeAdapter[list[UsageEvent]] = TypeAdapter(list[UsageEvent])
_EVENT: TypeAdapter[UsageEvent] = TypeAdapter(UsageEvent)
_WORKSPACE_ID = re.compile(ID_PATTERN)
_TAG_ERRORS = {"union_tag_invalid", "union_tag_not_found"}


class BatchRefused(DomainError):
    """The batch is malformed: nothing of it is stored (HTTP 422)."""


class UsageBatchIn(BaseModel):
    """A batch of usage events for one workspace (the shape documented in OpenAPI)."""

    model_config = ConfigDict(extra="forbid")

    events: list[UsageEvent] = Field(max_length=MAX_EVENTS)


_BATCH: TypeAdapter[UsageBatchIn] = TypeAdapter(UsageBatchIn)


class _BulkFields(BaseModel):
    workspace_id: WorkspaceId


@dataclass
class ParsedBatch:
    """The rows to store (first occurrence of each id) and what the batch held."""

    rows: list[UsageRow]
    received: dict[str, int] = field(default_factory=dict)  # events per workspace
    indexes: dict[str, list[int]] = field(default_factory=dict)  # event indexes per workspace
    new: dict[str, int] = field(default_factory=dict)  # events stored now, per workspace
    escape: bool = True  # whether a value may need COPY escaping


def _inline(schema: Any, defs: Mapping[str, Any]) -> Any:
    # The OpenAPI body is declared by hand (the endpoint reads the raw body): replace the
    # JSON Schema's local references by their definitions.
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in schema.items() if k not in ("$defs", "discriminator")}
    if isinstance(schema, list):
        return [_inline(item, defs) for item in schema]
    return schema


def openapi_body(bulk: bool) -> dict[str, Any]:
    """The ``requestBody`` of a usage endpoint, for ``openapi_extra``."""
    schema = UsageBatchIn.model_json_schema()
    inlined = _inline(schema, schema.get("$defs", {}))
    if bulk:
        workspace = _BulkFields.model_json_schema()["properties"]["workspace_id"]
        for variant in inlined["properties"]["events"]["items"]["oneOf"]:
            variant["properties"]["workspace_id"] = workspace
            variant["required"].append("workspace_id")
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": inlined}}}}


def _refused(code: str, message: str, details: dict[str, object]) -> BatchRefused:
    return BatchRefused(code, message, details)


def _events_of(body: bytes) -> list[Any]:
    try:
        data = json.loads(body)
    except ValueError:
        raise _refused(INVALID_ARGUMENT, "the body is not JSON", {}) from None
    if not isinstance(data, dict) or set(data) != {"events"} or not isinstance(data["events"], list):
        raise _refused(INVALID_ARGUMENT, 'the body must be {"events": [...]}', {})
    events: list[Any] = data["events"]
    if len(events) > MAX_EVENTS:
        raise _refused(
            INVALID_ARGUMENT,
            f"a batch holds at most {MAX_EVENTS} events",
            {"limit": MAX_EVENTS, "received": len(events)},
        )
    return events


def valid_workspace_id(workspace_id: str) -> bool:
    """Whether ``workspace_id`` could name a workspace (pattern and column length)."""
    return len(workspace_id) <= 64 and _WORKSPACE_ID.match(workspace_id) is not None


def _split_workspaces(items: list[Any]) -> list[str]:
    workspaces: list[str] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise _refused(INVALID_ARGUMENT, f"usage event {index} is not an object", {"index": index})
        workspace = item.pop("workspace_id", None)
        if not isinstance(workspace, str) or not valid_workspace_id(workspace):
            raise _refused(
                INVALID_ARGUMENT,
                f"usage event {index} needs a valid workspace_id",
                {"index": index, "field": "workspace_id"},
            )
        workspaces.append(workspace)
    return workspaces


def _invalid_event(index: int, item: Any, errors: Sequence[Any]) -> BatchRefused:
    kind = item.get("kind") if isinstance(item, dict) else None
    if isinstance(item, dict) and (not isinstance(kind, str) or kind not in EVENT_KINDS):
        return _refused(
            UNKNOWN_EVENT_KIND,
            f"usage event {index} has unknown kind {kind!r}",
            {"index": index, "kind": kind if isinstance(kind, str) else None, "known": sorted(EVENT_KINDS)},
        )
    problems = [
        {"field": ".".join(str(part) for part in err["loc"][2:]), "message": err["msg"]} for err in errors
    ]
    return _refused(
        INVALID_ARGUMENT,
        f"usage event {index} is malformed",
        {"index": index, "kind": kind if isinstance(kind, str) else None, "errors": problems},
    )


def _validated(items: list[Any]) -> list[UsageEvent]:
    try:
        return _EVENTS.validate_python(items)
    except ValidationError as exc:
        errors = exc.errors()
        index = int(errors[0]["loc"][0])
        raise _invalid_event(index, items[index], [e for e in errors if e["loc"][0] == index]) from None
    except (OverflowError, ArithmeticError):
        # E.g. an instant that cannot be moved to UTC (year 1 with a positive offset): find it.
        for index, item in enumerate(items):
            try:
                _EVENT.validate_python(item)
            except (ValidationError, OverflowError, ArithmeticError):
                raise _refused(
                    INVALID_ARGUMENT, f"usage event {index} is malformed", {"index": index}
                ) from None
        raise


def parse_batch(body: bytes, rules: CreditRules, workspace_id: str | None) -> ParsedBatch:
    """`parse` with the garbage collector paused: a batch allocates some 100,000 objects, none
    in a reference cycle, and collections triggered on the way cost half the parse time."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return parse(body, rules, workspace_id)
    finally:
        if collecting:
            gc.enable()


def parse(body: bytes, rules: CreditRules, workspace_id: str | None) -> ParsedBatch:
    """Parse, price and de-duplicate a batch.

    Args:
        body: the raw JSON request body.
        rules: the catalog's credit rules (credits are computed at ingestion).
        workspace_id: the workspace of every event, or None for the bulk form (each event
            names its own).

    Raises:
        BatchRefused: ``invalid_argument`` or ``unknown_event_kind``; ``details["index"]``
            names the first offending event.
    """
    workspaces: list[str] | None = None
    if workspace_id is None:
        items = _events_of(body)
        workspaces = _split_workspaces(items)
        events = _validated(items)
    else:
        try:  # the common case in one pass from the bytes, no intermediate objects
            events = _BATCH.validate_json(body).events
        except (ValidationError, OverflowError, ArithmeticError):
            # Refused: parse again step by step to name the offending event.
            events = _validated(_events_of(body))
    check_nul = b"\\u0000" in body  # PostgreSQL text cannot hold NUL
    # Only a JSON escape can put a backslash, tab or newline in a string: without one, no
    # value of the batch needs COPY escaping.
    batch = ParsedBatch(rows=[], escape=b"\\" in body)
    rows = batch.rows
    seen: set[tuple[str, str]] = set()
    for index, event in enumerate(events):
        workspace = workspace_id if workspaces is None else workspaces[index]
        assert workspace is not None
        credits = credit_cost(event, rules)
        minutes = event.minutes if isinstance(event, ServerlessMinutes) else 0
        if credits > _INT8_MAX or minutes > _INT8_MAX or (check_nul and "\x00" in event.id):
            raise _refused(INVALID_ARGUMENT, f"usage event {index} is out of range", {"index": index})
        key = (workspace, event.id)
        if key in seen:
            continue
        seen.add(key)
        payload = event.model_dump_json()
        rows.append(UsageRow(workspace, event.id, event.kind, event.at, credits, minutes, payload))
    if workspaces is None:
        batch.received[workspace_id or ""] = len(events)
    else:
        for index, workspace in enumerate(workspaces):
            batch.received[workspace] = batch.received.get(workspace, 0) + 1
            batch.indexes.setdefault(workspace, []).append(index)
    return batch
