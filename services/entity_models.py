"""What the entity service answers: each entity as stored, counted with its documents."""

from __future__ import annotations

from pydantic import BaseModel

from billing.usage import UtcDatetime


class ConnectionOut(BaseModel):
    id: str
    kind: str
    status: str
    documents: int
    document_bytes: int


class DataSourceOut(BaseModel):
    id: str
    bytes: int
    status: str
    deletion_scheduled_at: UtcDatetime | None
    documents: int


class AgentOut(BaseModel):
    id: str
    status: str


class SlackBotOut(BaseModel):
    installed: bool
