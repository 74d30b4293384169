"""The tiny router of the ``/v1`` API and helpers shared by resource handlers.

Handlers are synchronous functions run under the state lock, so one request's
changes (object writes, events) are never interleaved with another's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from devstack.stripe_emulator.errors import invalid_request
from devstack.stripe_emulator.params import Params
from devstack.stripe_emulator.settings import EmulatorSettings
from devstack.stripe_emulator.state import JSON, EmulatorState, RequestInfo

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """Everything a handler needs to serve one request."""

    state: EmulatorState
    params: Params
    path: dict[str, str]
    request: RequestInfo
    settings: EmulatorSettings

    def emit(self, event_type: str, obj: JSON, previous: JSON | None = None) -> None:
        """Record an event caused by this request."""
        self.state.emit(event_type, obj, self.request, previous)

    @property
    def public_url(self) -> str:
        """Base URL that hosted invoice pages and PDFs are served from."""
        return (self.settings.public_url or self.request.base_url).rstrip("/")


Handler = Callable[[Call], JSON]


@dataclass(frozen=True)
class ApiRoute:
    """One API operation: HTTP method, path pattern, handler."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler


def route(method: str, template: str, handler: Handler) -> ApiRoute:
    """Build a route from a template such as ``/v1/customers/{customer}``.

    Args:
        method: HTTP method (``GET``, ``POST``, ``DELETE``).
        template: path with ``{name}`` placeholders for one path segment each.
        handler: the function serving it.

    Returns:
        The route.
    """
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    return ApiRoute(method, re.compile(f"^{regex}$"), handler)


def match(routes: Sequence[ApiRoute], method: str, path: str) -> tuple[ApiRoute, dict[str, str]] | None:
    """Find the route serving ``method path``.

    Args:
        routes: candidate routes.
        method: request method.
        path: request path.

    Returns:
        The route and its path parameters, or None.
    """
    for candidate in routes:
        if candidate.method != method:
            continue
        found = candidate.pattern.match(path)
        if found:
            return candidate, found.groupdict()
    return None


def paginate(
    call: Call, items: Sequence[T], url: str, to_json: Callable[[T], JSON], ident: Callable[[T], str]
) -> JSON:
    """Answer a Stripe list request (``limit``, ``starting_after``, ``ending_before``).

    Args:
        call: the request (its params carry the cursors).
        items: all matching objects, newest first (Stripe's order).
        url: the list URL, used by the SDK for auto-pagination.
        to_json: serializer of one object.
        ident: id of one object.

    Returns:
        A Stripe list object.

    Raises:
        StripeError: bad limit, or a cursor id that is not in the list.
    """
    params = call.params
    limit = params.integer("limit")
    if limit is None:
        limit = 10
    if not 1 <= limit <= 100:
        raise invalid_request("This value must be between 1 and 100 (inclusive).", param="limit")
    ids = [ident(item) for item in items]
    start, stop = 0, len(items)
    after = params.string("starting_after")
    before = params.string("ending_before")
    if after:
        if after not in ids:
            raise invalid_request(
                f"No such object: '{after}'", param="starting_after", code="resource_missing"
            )
        start = ids.index(after) + 1
        page = list(items[start : start + limit])
        has_more = start + limit < stop
    elif before:
        if before not in ids:
            raise invalid_request(
                f"No such object: '{before}'", param="ending_before", code="resource_missing"
            )
        stop = ids.index(before)
        page = list(items[max(0, stop - limit) : stop])
        has_more = stop - limit > 0
    else:
        page = list(items[:limit])
        has_more = len(items) > limit
    return {
        "object": "list",
        "data": [to_json(item) for item in page],
        "has_more": has_more,
        "url": url,
    }
