"""A scenario (SPEC §7): the YAML's shape as pydantic models, and the checks that need context.

`load_scenario` fails fast with a `ScenarioError` naming the offending line for anything
the engine would never see as a command: not YAML, a missing or mistyped field, an
unknown verb, a bad date, a step out of time order or outside ``[start, end]``, an
unknown user, an unknown catalog, a malformed usage event. What the engine itself
refuses (an unknown plan, a seat over the limit, a change not allowed now) is not checked
here: the run records it under ``rejected``, as production would answer it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, ValidationError

from billing.catalog import Catalog, CatalogError, load_catalog
from billing.commands import STAFF_KINDS
from billing.usage import EVENT_KINDS, UtcDatetime, parse_event
from simulate.steps import VERBS, Step, UserId
from simulate.yamlnodes import YamlSyntaxError, child, compose, line_of

WorkspaceId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$")]


class ScenarioError(ValueError):
    """A malformed scenario: ``source:line: message``."""

    def __init__(self, source: str, line: int, message: str) -> None:
        super().__init__(f"{source}:{line}: {message}" if line else f"{source}: {message}")
        self.source = source
        self.line = line
        self.message = message


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class MemberSpec(_Strict):
    user: UserId
    role: str
    role_granted_at: UtcDatetime | None = None
    email: str | None = None


class ConnectionSpec(_Strict):
    id: str = Field(min_length=1)
    kind: str = "generic"
    bytes: NonNegativeInt = 0  # data synced from it (deleted with it)


class DataSourceSpec(_Strict):
    id: str = Field(min_length=1)
    bytes: NonNegativeInt


class WorkspaceSpec(_Strict):
    id: WorkspaceId
    members: list[MemberSpec] = Field(min_length=1)
    connections: list[str | ConnectionSpec] = []
    data_sources: list[DataSourceSpec] = []
    agents: list[str] = []
    slack_bot: bool = False
    spaces: NonNegativeInt = 0
    billing_contact_email: str | None = None
    card: Literal["ok", "declined", "needs_authentication", "none"] = "ok"

    def connection_specs(self) -> list[ConnectionSpec]:
        return [ConnectionSpec(id=c) if isinstance(c, str) else c for c in self.connections]


class Scenario(_Strict):
    """A whole scenario as written (see docs/simulate.md)."""

    catalog: str
    start: UtcDatetime
    end: UtcDatetime
    workspace: WorkspaceSpec
    steps: list[Step] = []


class LoadedScenario(BaseModel):
    """A checked scenario, its catalog, and each step's line (for `rejected` and errors)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    source: str
    scenario: Scenario
    catalog: Catalog
    step_lines: list[int]
    usage: dict[int, list[dict[str, Any]]]  # step index -> events with id and at filled in


def load_scenario(path: Path) -> LoadedScenario:
    """Read and check the scenario at ``path``.

    Raises:
        ScenarioError: anything malformed, with the line it is on.
    """
    try:
        text = path.read_text("utf-8")
    except OSError as error:
        raise ScenarioError(str(path), 0, f"cannot read the scenario ({error.strerror})") from None
    return parse_scenario(text, str(path), base_dir=path.parent)


def parse_scenario(text: str, source: str = "<scenario>", base_dir: Path | None = None) -> LoadedScenario:
    """Check the scenario ``text`` (relative catalog paths are read from ``base_dir``).

    Raises:
        ScenarioError: anything malformed, with the line it is on.
    """
    try:
        data, root = compose(text)
    except YamlSyntaxError as error:
        raise ScenarioError(source, error.line, str(error)) from None
    if not isinstance(data, dict):
        raise ScenarioError(source, line_of(root, []), "a scenario is a mapping (catalog, start, end, ...)")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        location = list(first["loc"])
        raise ScenarioError(source, line_of(root, location), _describe(first, location)) from None
    steps_node = child(root, "steps")
    step_lines = [line_of(steps_node, [i]) for i in range(len(scenario.steps))]
    catalog = _catalog(scenario.catalog, base_dir, source, line_of(root, ["catalog"]))
    _check_times(scenario, source, root, step_lines)
    _check_users(scenario, source, catalog, step_lines)
    usage = _check_usage(scenario, source, steps_node)
    return LoadedScenario(
        source=source, scenario=scenario, catalog=catalog, step_lines=step_lines, usage=usage
    )


def _describe(error: Any, location: list[str | int]) -> str:
    where = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in location).replace(".[", "[")
    if error["type"] == "extra_forbidden" and len(location) == 3 and location[0] == "steps":
        return f"unknown verb {location[2]!r} (known: {', '.join(VERBS)})"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _catalog(name: str, base_dir: Path | None, source: str, line: int) -> Catalog:
    candidate = Path(name)
    if base_dir is not None and name.endswith(".toml") and not candidate.is_absolute():
        candidate = base_dir / candidate
    try:
        return load_catalog(name if not name.endswith(".toml") else candidate)
    except CatalogError as error:
        raise ScenarioError(source, line, f"unknown catalog {name!r}: {error}") from None


def _check_times(scenario: Scenario, source: str, root: yaml.Node | None, step_lines: list[int]) -> None:
    if scenario.end <= scenario.start:
        raise ScenarioError(source, line_of(root, ["end"]), "end must be after start")
    previous: datetime | None = None
    for step, line in zip(scenario.steps, step_lines, strict=True):
        if step.at < scenario.start:
            raise ScenarioError(source, line, f"step at {step.at.isoformat()} is before start")
        if step.at > scenario.end:
            raise ScenarioError(source, line, f"step at {step.at.isoformat()} is after end")
        if previous is not None and step.at < previous:
            raise ScenarioError(
                source,
                line,
                f"step at {step.at.isoformat()} is out of time order (previous step: {previous})",
            )
        previous = step.at


def _check_users(scenario: Scenario, source: str, catalog: Catalog, step_lines: list[int]) -> None:
    known = {m.user for m in scenario.workspace.members}
    if len(known) != len(scenario.workspace.members):
        raise ScenarioError(source, 0, "workspace.members lists a user twice")
    for step, line in zip(scenario.steps, step_lines, strict=True):
        if step.actor is not None and step.actor != "staff" and step.actor not in known:
            raise ScenarioError(source, line, f"unknown user {step.actor!r} in `as`")
        user = getattr(step.args, "user", None)
        if step.verb == "add_member":
            known.add(str(user))
        elif user is not None and user not in known:
            raise ScenarioError(
                source, line, f"unknown user {user!r} (not in workspace.members nor added by add_member)"
            )
    admins = [m for m in scenario.workspace.members if m.role in catalog.roles.billing_admin]
    needs_admin = any(
        s.actor is None and s.verb not in {"usage", "payment_method", *STAFF_KINDS} for s in scenario.steps
    )
    if needs_admin and not admins:
        raise ScenarioError(
            source,
            0,
            f"workspace.members has no billing admin (role {' or '.join(catalog.roles.billing_admin)}) "
            "to act for the steps: add one, or give each step `as: <user>`",
        )


def _check_usage(
    scenario: Scenario, source: str, steps_node: yaml.Node | None
) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    seen: set[str] = set()
    for index, step in enumerate(scenario.steps):
        if step.usage is None:
            continue
        events_node = child(child(child(steps_node, index), "usage"), "events")
        filled: list[dict[str, Any]] = []
        for position, raw in enumerate(step.usage.events):
            line = line_of(events_node, [position])
            event = {"id": f"step{index + 1}-{position + 1}", "at": step.at.isoformat(), **raw}
            kind = event.get("kind")
            if kind not in EVENT_KINDS:
                raise ScenarioError(
                    source,
                    line,
                    f"unknown usage event kind {kind!r} (known: {', '.join(sorted(EVENT_KINDS))})",
                )
            try:
                parsed = parse_event(event)
            except ValidationError as error:
                first = error.errors()[0]
                where = ".".join(str(p) for p in first["loc"][1:])
                raise ScenarioError(source, line, f"usage event {where}: {first['msg']}") from None
            if parsed.id in seen:
                raise ScenarioError(source, line, f"usage event id {parsed.id!r} is used twice")
            seen.add(parsed.id)
            filled.append(parsed.model_dump(mode="json"))
        found[index] = filled
    return found
