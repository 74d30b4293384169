"""The edges stay thin: `api/` and `cli/` reach the engine and the database through
`services/` and `client/`, never through activities, workflow internals or repositories;
`services/` never depends on an edge."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Constants the CLI reads (search-attribute names); the roll-up's result type moves with the
# activity contracts (contracts/), then this list shrinks.
ALLOWED = {"workflows.publish", "workflows.rollup"}
FORBIDDEN_IN_EDGES = ("activities", "workflows", "db.audit", "db.usage_ingest")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _forbidden_for_edges(module: str) -> bool:
    if module in ALLOWED or any(module.startswith(f"{a}.") for a in ALLOWED):
        return False
    if module.startswith("db.") and module.split(".")[1].endswith("_repo"):
        return True
    return any(module == f or module.startswith(f"{f}.") for f in FORBIDDEN_IN_EDGES)


@pytest.mark.parametrize("package", ["api", "cli"])
def test_edges_import_no_activity_workflow_or_repository(package: str) -> None:
    offending = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for module in _imports(path)
        if _forbidden_for_edges(module)
    }
    assert not offending, sorted(offending)


def test_services_never_import_an_edge() -> None:
    offending = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in sorted((ROOT / "services").rglob("*.py"))
        for module in _imports(path)
        if module.split(".")[0] in {"api", "cli", "fastapi", "typer"}
    }
    assert not offending, sorted(offending)
