"""Refuse JSON text that is not valid Unicode before any endpoint sees it.

JSON may carry lone UTF-16 surrogates (``"\\ud800"``); Python decodes them into strings that
nothing downstream can encode (PostgreSQL, Temporal payloads, Stripe), which would surface as
a 5xx half-way through a command. They are rejected here (400 `invalid_argument`), before any change.
"""

from __future__ import annotations

import json
import re

from fastapi import Request

from billing.errors import INVALID_ARGUMENT, DomainError

# Only a body with an escaped surrogate can decode to one: the common case is a regex scan.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


async def valid_unicode(request: Request) -> None:
    """An app-wide dependency: a 400 for a JSON body whose text cannot be encoded as UTF-8."""
    body = await request.body()  # cached on the request: the endpoint reads the same bytes
    if not _SURROGATE_ESCAPE.search(body):
        return
    try:
        json.dumps(json.loads(body), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise DomainError(
            INVALID_ARGUMENT, "the body holds text that is not valid Unicode (a lone UTF-16 surrogate)"
        ) from None
    except ValueError:
        return  # not JSON at all: the endpoint's own validation says so
