"""The layers of docs/architecture.md, checked on the source: who may import whom.

Read with `ast`, so every import counts: module level, inside functions and under
`TYPE_CHECKING` alike (a function-local import is still a dependency, only a later one).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = (
    "activities",
    "api",
    "bench",
    "billing",
    "catalogs",
    "cli",
    "client",
    "config",
    "contracts",
    "db",
    "devstack",
    "services",
    "simulate",
    "worker",
    "workflows",
)
# The composition roots may build the engine and run migrations; no edge may reach a repository.
# API tokens are the edges' own credentials: the HTTP edge checks them before any service runs
# and `tenure tokens` administers them; they hold no billing rule.
EDGE_WIRING = ("db.engine", "db.migrate", "db.base", "db.tokens", "db.models")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in OURS:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _type_only(tree: ast.Module) -> set[int]:
    """The ids of import nodes under ``if TYPE_CHECKING:`` (for annotations, never run)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            found.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return found


def _imports(path: Path, *, runtime_only: bool = False) -> Iterator[str]:
    tree = ast.parse(path.read_text(), str(path))
    skipped = _type_only(tree) if runtime_only else set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from db import tokens` depends on the module db.tokens; `from billing import
            # Cancel` on the package billing (what its __init__ re-exports).
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                yield name if name in MODULES else node.module


def _ours(name: str) -> str | None:
    """The module of ours ``name`` refers to (a name imported from a module is the module)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _edges(*, runtime_only: bool = False) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        names = _imports(path, runtime_only=runtime_only)
        edges[module] = {target for name in names if (target := _ours(name)) and target != module}
    return edges


EDGES = _edges()
# A cycle is one the interpreter would run into: a `TYPE_CHECKING` import is the standard way
# to name a type without importing its module at run time.
RUNTIME_EDGES = _edges(runtime_only=True)


def _third_party(path: Path) -> set[str]:
    return {name.partition(".")[0] for name in _imports(path)}


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _violations(package: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    return sorted(
        f"{module} imports {target}"
        for module, targets in EDGES.items()
        if _in(module, package)
        for target in targets
        if any(_in(target, f) for f in forbidden) and not any(_in(target, a) for a in allowed)
    )


def test_the_domain_imports_nothing_of_ours_and_no_io() -> None:
    assert _violations("billing", tuple(p for p in OURS if p != "billing")) == []
    io = {"sqlalchemy", "psycopg", "stripe", "temporalio", "httpx", "fastapi", "asyncpg"}
    leaks = {m: _third_party(p) & io for m, p in MODULES.items() if _in(m, "billing")}
    assert {m: libs for m, libs in leaks.items() if libs} == {}


def test_contracts_speak_only_the_domain() -> None:
    assert _violations("contracts", tuple(p for p in OURS if p not in ("contracts", "billing"))) == []
    io = {"sqlalchemy", "psycopg", "stripe", "httpx", "fastapi"}
    leaks = {m: _third_party(p) & io for m, p in MODULES.items() if _in(m, "contracts")}
    assert {m: libs for m, libs in leaks.items() if libs} == {}


def test_workflows_never_reach_the_database_activities_or_stripe() -> None:
    outside = ("db", "activities", "api", "cli", "services", "worker", "devstack")
    assert _violations("workflows", outside) == []
    leaks = {
        m: _third_party(p) & {"sqlalchemy", "psycopg", "stripe", "httpx"}
        for m, p in MODULES.items()
        if _in(m, "workflows")
    }
    assert {m: libs for m, libs in leaks.items() if libs} == {}


@pytest.mark.parametrize("edge", ["api", "cli"])
def test_the_edges_go_through_services_and_the_client(edge: str) -> None:
    assert _violations(edge, ("activities", "workflows", "db"), allowed=EDGE_WIRING) == []


def test_services_hold_no_workflow_handle_and_no_http() -> None:
    assert _violations("services", ("api", "cli", "workflows", "worker", "simulate")) == []
    # `temporalio.exceptions` is allowed: the payment port reports refusals as ApplicationError.
    edge_libs: tuple[str, ...] = ("fastapi", "starlette", "typer")
    edge_libs += ("temporalio.client", "temporalio.worker", "temporalio.workflow")
    leaks = {
        m: sorted(n for n in _imports(p) if any(n == lib or n.startswith(lib + ".") for lib in edge_libs))
        for m, p in MODULES.items()
        if _in(m, "services")
    }
    assert {m: libs for m, libs in leaks.items() if libs} == {}


def test_there_is_no_import_cycle() -> None:
    """Tarjan's strongly connected components over every module of ours."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in RUNTIME_EDGES[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in MODULES:
        if module not in index:
            visit(module)
    assert cycles == []


def test_the_checks_see_the_tree() -> None:
    # A walker that found nothing would pass every test above.
    assert len(MODULES) > 100
    assert "billing.state" in EDGES["billing.lifecycle"]
    assert "billing.workspace" in EDGES["billing.changes"]  # under TYPE_CHECKING: seen here,
    assert "billing.workspace" not in RUNTIME_EDGES["billing.changes"]  # not at run time
    assert any(_in(t, "billing") for t in EDGES["workflows.subscription"])
