"""Each command is declared once, in `billing.commands`; every edge covers exactly that table.

For every kind of `billing.COMMANDS` there is the workflow's Update of that name with its
validator and payload type, an HTTP route sending that command type (or a stated reason
why not), a client path that names the Update by ``command.kind``, and a simulate verb.
Each check compares sets for equality, so a command added without one of them, or an edge
left behind after a command is removed, fails here.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, get_args, get_type_hints

from temporalio import workflow

import api.app  # noqa: F401  # registers every router, hence every command route
from api.commands import COMMAND_ROUTES
from billing.commands import COMMANDS, CommandBase
from client.tenure import TenureClient
from simulate.steps import COMMAND_VERBS, VERBS, Step
from workflows.subscription import SubscriptionWorkflow

ROOT = Path(__file__).resolve().parents[2]

# Kinds HTTP deliberately does not offer, and why; a kind listed here must have no route.
NOT_OVER_HTTP: Mapping[str, str] = {
    "start_trial": "a trial starts with the subscription (POST /v1/workspaces); asking again changes nothing",
    "change_plan": "PUT …/plan sends select_plan, which has the same rules (upgrade now, downgrade later)",
    "clear_cancellation": "POST …/reactivate withdraws a pending cancellation (and restores a revert)",
}
NON_COMMAND_VERBS = {"usage", "payment_method"}  # writes production receives outside the workflow


def _updates_missing(table: Mapping[str, type[CommandBase]]) -> set[str]:
    definition = workflow._Definition.from_class(SubscriptionWorkflow)
    assert definition is not None
    found = {
        name: update.arg_types
        for name, update in definition.updates.items()
        if name is not None and update.validator is not None
    }
    wrong_type = {kind for kind in set(table) & set(found) if found[kind] != [table[kind]]}
    return set(table) ^ set(found) | wrong_type


def _routes_missing(table: Mapping[str, type[CommandBase]]) -> set[str]:
    sent = {route.sends.model_fields["kind"].default for route in COMMAND_ROUTES}
    return (set(table) - set(NOT_OVER_HTTP)) ^ sent | (sent & set(NOT_OVER_HTTP))


def _verbs_missing(table: Mapping[str, type[CommandBase]]) -> set[str]:
    return set(table) ^ set(COMMAND_VERBS)


def _client_missing(table: Mapping[str, type[CommandBase]]) -> set[str]:
    accepted = get_type_hints(TenureClient.execute, include_extras=False)["command"]
    return {t.model_fields["kind"].default for t in set(table.values()) ^ set(get_args(accepted))}


CHECKS = (_updates_missing, _routes_missing, _verbs_missing, _client_missing)


def test_every_kind_is_a_named_update_with_its_validator() -> None:
    assert _updates_missing(COMMANDS) == set()


def test_every_kind_has_an_http_route_or_a_reason() -> None:
    assert _routes_missing(COMMANDS) == set()
    kinds = [route.sends.model_fields["kind"].default for route in COMMAND_ROUTES]
    by_path = {(r.method, r.path) for r in COMMAND_ROUTES}
    assert len(by_path) == len(kinds), "two command routes share a method and path"


def test_every_kind_is_a_simulate_verb() -> None:
    assert _verbs_missing(COMMANDS) == set()
    assert set(VERBS) == set(COMMAND_VERBS) | NON_COMMAND_VERBS
    step_fields = set(Step.model_fields) - {"at", "actor"}
    assert step_fields == set(VERBS)
    for verb, args in COMMAND_VERBS.items():
        assert Step.model_fields[verb].annotation == args | None, verb


def test_the_client_sends_every_kind_by_its_own_name() -> None:
    assert _client_missing(COMMANDS) == set()


def test_no_update_name_travels_as_a_string() -> None:
    """An Update name written as a literal beside its command could disagree with its kind."""
    found = []
    for folder in ("api", "client", "cli", "simulate", "workflows", "bench", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                if node.func.attr not in {"execute", "execute_update", "start_update", "update"}:
                    continue
                literals = [a.value for a in node.args if isinstance(a, ast.Constant)]
                found += [f"{path.relative_to(ROOT)}:{node.lineno}" for v in literals if v in COMMANDS]
    assert found == []


def test_a_command_added_without_its_edges_fails_every_check() -> None:
    class Pause(CommandBase):
        kind: Literal["pause"] = "pause"

    with_pause = {**COMMANDS, "pause": Pause}
    assert [check(with_pause) for check in CHECKS] == [{"pause"}] * len(CHECKS)
    without_cancel = {k: v for k, v in COMMANDS.items() if k != "cancel"}
    assert [check(without_cancel) for check in CHECKS] == [{"cancel"}] * len(CHECKS)
