"""``/v1/customers/search`` and ``/v1/invoices/search``: Stripe's Search Query Language, a subset.

Supported: exact-match clauses ``field:'value'`` and ``metadata['key']:'value'`` joined by
``AND`` or by ``OR`` (not both, as on Stripe), over the fields listed per resource. Stripe's
search is eventually consistent (new objects show up "in less than a minute"); the emulator's
is immediate, which is why callers must not rely on it right after a write: Tenure reads by
search only when retrying a write whose answer was lost, and the idempotency key still covers
the first 24 hours.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from devstack.stripe_emulator.errors import StripeError, invalid_request
from devstack.stripe_emulator.resources.customers import customer_json
from devstack.stripe_emulator.resources.invoices import invoice_json
from devstack.stripe_emulator.routing import ApiRoute, Call, route
from devstack.stripe_emulator.state import JSON, Customer, Invoice

T = TypeVar("T")

_CLAUSE = re.compile(
    r"""^\s*(?P<field>[a-z_]+)(?:\[['"](?P<key>[^'"]+)['"]\])?"""  # field or metadata['key']
    r"""\s*:\s*(?P<q>['"])(?P<value>(?:\\.|(?!(?P=q))[^\\])*)(?P=q)\s*$"""  # :'value', \' escaped
)
_ESCAPE = re.compile(r"\\(.)")
_JOINER = re.compile(r"\s+(AND|OR)\s+")


@dataclass(frozen=True)
class Clause:
    """``field:'value'`` or ``metadata['key']:'value'``."""

    field: str
    key: str | None
    value: str


def _bad_query(message: str) -> StripeError:
    return invalid_request(message, param="query")


def parse_query(query: str, fields: Iterable[str]) -> tuple[list[Clause], str]:
    """Parse ``query`` into clauses and their joiner (``AND`` or ``OR``).

    Raises:
        StripeError: 400 on a syntax the subset does not know, or an unknown field.
    """
    known = set(fields)
    parts = _JOINER.split(query.strip())
    clauses_text, joiners = parts[::2], set(parts[1::2])
    if len(joiners) > 1:
        raise _bad_query("A query cannot mix AND and OR.")
    clauses: list[Clause] = []
    for text in clauses_text:
        found = _CLAUSE.match(text)
        if found is None:
            raise _bad_query(f"Unsupported search clause {text!r} (the emulator knows field:'value').")
        field, key = found["field"], found["key"]
        if (key is None) == (field == "metadata") or (field != "metadata" and field not in known):
            raise _bad_query(f"Field {field!r} is an unsupported search field for this resource.")
        clauses.append(Clause(field, key, _ESCAPE.sub(r"\1", found["value"])))
    return clauses, joiners.pop() if joiners else "AND"


def _matches(body: JSON, clause: Clause) -> bool:
    if clause.key is not None:
        metadata = body.get("metadata")
        return isinstance(metadata, dict) and metadata.get(clause.key) == clause.value
    return str(body.get(clause.field)) == clause.value


def _search(
    call: Call, url: str, items: Iterable[T], to_json: Callable[[T], JSON], fields: Iterable[str]
) -> JSON:
    p = call.params
    p.only("query", "limit", "page")
    query = p.string("query", required=True) or ""
    clauses, joiner = parse_query(query, fields)
    limit = p.integer("limit")
    limit = 10 if limit is None else limit
    if not 1 <= limit <= 100:
        raise invalid_request("This value must be between 1 and 100 (inclusive).", param="limit")
    offset = int(p.string("page") or "0") if (p.string("page") or "0").isdigit() else 0
    combine = all if joiner == "AND" else any
    hits = [body for body in map(to_json, items) if combine(_matches(body, c) for c in clauses)]
    page = hits[offset : offset + limit]
    more = offset + limit < len(hits)
    return {
        "object": "search_result",
        "data": page,
        "has_more": more,
        "next_page": str(offset + limit) if more else None,
        "url": url,
    }


def search_customers(call: Call) -> JSON:
    """``GET /v1/customers/search?query=...`` (newest first)."""
    live: list[Customer] = [c for c in reversed(call.state.customers.values()) if not c.deleted]
    return _search(call, "/v1/customers/search", live, customer_json, ("email", "name", "phone"))


def search_invoices(call: Call) -> JSON:
    """``GET /v1/invoices/search?query=...`` (newest first)."""
    live: list[Invoice] = [i for i in reversed(call.state.invoices.values()) if not i.deleted]
    return _search(
        call,
        "/v1/invoices/search",
        live,
        lambda inv: invoice_json(call.state, inv),
        ("customer", "number", "status", "currency"),
    )


ROUTES: list[ApiRoute] = [
    route("GET", "/v1/customers/search", search_customers),
    route("GET", "/v1/invoices/search", search_invoices),
]
