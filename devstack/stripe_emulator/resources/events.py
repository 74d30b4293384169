"""``/v1/events``: retrieve and list (newest first, filters ``type``/``types``/``created``)."""

from __future__ import annotations

from devstack.stripe_emulator.errors import invalid_request, no_such
from devstack.stripe_emulator.forms import FormDict
from devstack.stripe_emulator.routing import ApiRoute, Call, paginate, route
from devstack.stripe_emulator.state import JSON, Event, event_json


def retrieve_event(call: Call) -> JSON:
    """``GET /v1/events/{id}``."""
    event = call.state.events.get(call.path["id"])
    if event is None:
        raise no_such("event", call.path["id"])
    return event_json(event)


def _type_matches(pattern: str, event_type: str) -> bool:
    # Stripe allows one trailing wildcard, e.g. ``invoice.*``.
    if pattern.endswith("*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def _created_filter(call: Call) -> FormDict:
    raw = call.params.raw("created")
    if raw is None:
        return {}
    if isinstance(raw, str):
        return {"eq": raw}
    if isinstance(raw, dict):
        return raw
    raise invalid_request("Invalid created filter.", param="created")


def _created_ok(event: Event, bounds: FormDict) -> bool:
    checks = {
        "eq": lambda v: event.created == v,
        "gt": lambda v: event.created > v,
        "gte": lambda v: event.created >= v,
        "lt": lambda v: event.created < v,
        "lte": lambda v: event.created <= v,
    }
    for op, value in bounds.items():
        if op not in checks or not isinstance(value, str) or not value.lstrip("-").isdigit():
            raise invalid_request(f"Invalid created[{op}] filter.", param=f"created[{op}]")
        if not checks[op](int(value)):
            return False
    return True


def list_events(call: Call) -> JSON:
    """``GET /v1/events``."""
    p = call.params
    p.only("type", "types", "created", "limit", "starting_after", "ending_before", "delivery_success")
    patterns = p.str_list("types") or []
    single = p.string("type")
    if single is not None:
        patterns.append(single)
    bounds = _created_filter(call)
    items = [
        e
        for e in reversed(call.state.events.values())
        if (not patterns or any(_type_matches(t, e.type) for t in patterns)) and _created_ok(e, bounds)
    ]
    return paginate(call, items, "/v1/events", event_json, lambda e: e.id)


ROUTES: list[ApiRoute] = [
    route("GET", "/v1/events", list_events),
    route("GET", "/v1/events/{id}", retrieve_event),
]
