"""Each activity reference has exactly one registered implementation, with the same types.

Workflows call activities by the references of `contracts.activities`; the worker registers
the implementations listed in `worker.composition`. Nothing but this test ties the two: a
renamed activity, a changed argument or result type, an activity registered without a
reference (or on the wrong queue) fails here instead of in a running subscription.
"""

from __future__ import annotations

import ast
import inspect
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from types import NoneType
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio import activity

from activities.payments import PaymentGateway
from contracts import activities as refs
from contracts.activities import ActivityRef
from worker.composition import activities, stripe_activities

ROOT = Path(__file__).resolve().parents[2]


def _registered() -> dict[str, list[tuple[str, Callable[..., Any]]]]:
    """Activity name -> [(queue, implementation)] as the worker registers them."""
    # Building the lists connects to nothing: the engine is lazy, the gateway never called.
    engine = create_async_engine("postgresql+psycopg://nobody@localhost/none")
    gateway = cast(PaymentGateway, object())
    found: dict[str, list[tuple[str, Callable[..., Any]]]] = {}
    for queue, listed in (
        ("main", activities(engine, gateway)),
        ("stripe", stripe_activities(engine, gateway)),
    ):
        for fn in listed:
            definition = activity._Definition.must_from_callable(fn)
            assert definition.name is not None
            found.setdefault(definition.name, []).append((queue, fn))
    return found


REGISTERED = _registered()


def _input_and_output(fn: Callable[..., Any]) -> tuple[Any, Any]:
    hints = typing.get_type_hints(fn)
    params = list(inspect.signature(fn).parameters)  # bound methods: no ``self``
    assert len(params) <= 1, f"{fn.__qualname__} takes more than one argument"
    return (hints[params[0]] if params else NoneType), hints.get("return", NoneType)


def test_the_references_are_all_listed() -> None:
    declared = {value.name for value in vars(refs).values() if isinstance(value, ActivityRef)}
    assert declared == {ref.name for ref in refs.ALL}
    assert len(refs.ALL) == len(declared), "two references share a name"


@pytest.mark.parametrize("ref", refs.ALL, ids=lambda r: r.name)
def test_each_reference_has_one_implementation_with_its_types(ref: ActivityRef[Any, Any]) -> None:
    implementations = REGISTERED.get(ref.name, [])
    assert len(implementations) == 1, f"{ref.name}: {len(implementations)} registered implementations"
    [(queue, fn)] = implementations
    # A local activity runs in the workflow's own worker: it is registered on the main queue.
    assert queue == ref.queue
    assert _input_and_output(fn) == (ref.input, ref.output)


def test_every_registered_activity_has_a_reference() -> None:
    assert set(REGISTERED) == {ref.name for ref in refs.ALL}


def _activity_calls(tree: ast.AST) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr
        in {"execute_activity", "start_activity", "execute_local_activity", "start_local_activity"}
    ]


def test_workflows_run_activities_only_through_references() -> None:
    for path in sorted((ROOT / "workflows").glob("*.py")):
        if path.name == "calls.py":
            continue
        calls = _activity_calls(ast.parse(path.read_text()))
        assert not calls, f"{path.name}:{calls[0].lineno} starts an activity without its reference"


ALLOWED_IN_CONTRACTS = {"__future__", "billing", "contracts", "pydantic", "temporalio.common"}


def _imported(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_contracts_import_only_data_and_the_domain() -> None:
    """Workflows import `contracts` inside their sandbox: no I/O library may come with it."""
    stdlib = set(sys.stdlib_module_names)
    for path in sorted((ROOT / "contracts").glob("*.py")):
        for module in _imported(ast.parse(path.read_text())):
            allowed = module.split(".")[0] in stdlib or any(
                module == root or module.startswith(f"{root}.") for root in ALLOWED_IN_CONTRACTS
            )
            assert allowed, f"contracts/{path.name} imports {module}"
