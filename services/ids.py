"""Identifier and text constraints of the API's inputs, matching the database columns.

Ids come from the product (user ids, connection ids ...): printable, no spaces, as long as
their column allows, so that a bad one is a 422 naming the field rather than a database error.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@+-]*$"

WorkspaceId = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]
EntityId = Annotated[str, Field(min_length=1, max_length=200, pattern=ID_PATTERN)]
UserId = Annotated[str, Field(min_length=1, max_length=200, pattern=ID_PATTERN)]
Role = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_-]*$")]
Email = Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
Size = Annotated[int, Field(ge=0, le=10**15, description="Bytes.")]
