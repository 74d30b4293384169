"""`billing.changes`: every ``...Changes`` TypedDict has exactly its model's fields and
annotations, so a typed update cannot drift from the model it changes."""

from __future__ import annotations

import importlib
from typing import Any, get_type_hints

import pytest
from pydantic import BaseModel

import billing.changes as changes
from billing import BillingState, evolve


def _model(qualified: str) -> type[BaseModel]:
    module, _, name = qualified.rpartition(".")
    found: type[BaseModel] = getattr(importlib.import_module(module), name)
    assert issubclass(found, BaseModel)
    return found


def _namespace() -> dict[str, Any]:
    """What ``billing.changes`` imports for type checking only, to resolve its annotations."""
    ns: dict[str, Any] = {}
    for qualified in changes.CHANGES:
        module = importlib.import_module(qualified.rpartition(".")[0])
        ns.update(vars(module))
    ns["WorkspaceMember"] = _model("billing.workspace.Member")
    ns["Member"] = _model("billing.state.Member")
    return ns


@pytest.mark.parametrize("qualified", sorted(changes.CHANGES))
def test_changes_match_the_model_fields(qualified: str) -> None:
    model = _model(qualified)
    typed = get_type_hints(changes.CHANGES[qualified], localns=_namespace(), include_extras=True)
    declared = get_type_hints(model, include_extras=True)
    assert set(typed) == set(model.model_fields)
    for name, annotation in typed.items():
        assert declared[name] == annotation, name


def test_every_model_changed_in_billing_has_its_changes() -> None:
    assert _model("billing.state.BillingState") is BillingState
    assert len(changes.CHANGES) == len({id(_model(q)) for q in changes.CHANGES})


def test_evolve_is_model_copy() -> None:
    state = BillingState(workspace_id="acme", catalog_name="seats", status="free")
    changed = evolve(state, status="active", credit_balance=5)
    assert changed == state.model_copy(update={"status": "active", "credit_balance": 5})
    assert state.status == "free"
