"""`tenure config`: the settings table (also the README's configuration section)."""

from __future__ import annotations

from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from config.settings import Settings, environment_variables


def _default(name: str) -> str:
    value = Settings.model_fields[name].default
    return "(unset)" if value is None else str(value)


def _current(value: object) -> str:
    if isinstance(value, SecretStr):
        return "****"
    return "(unset)" if value is None else str(value)


def markdown_table() -> str:
    """Every setting as a Markdown table: setting, variable, default, meaning."""
    rows = ["| Setting | Environment variable | Default | Meaning |", "|---|---|---|---|"]
    for name, env in environment_variables().items():
        meaning = (Settings.model_fields[name].description or "").replace("|", "\\|")
        rows.append(f"| `{name}` | `{env}` | `{_default(name)}` | {meaning} |")
    return "\n".join(rows)


def render(settings: Settings, console: Console, *, markdown: bool) -> None:
    """Print the table (Rich, with current values) or the README Markdown."""
    if markdown:
        print(markdown_table())  # plain: Rich would wrap the long rows
        return
    table = Table("variable", "current", "default", "meaning")
    for name, env in environment_variables().items():
        description = Settings.model_fields[name].description or ""
        table.add_row(env, _current(getattr(settings, name)), _default(name), description)
    console.print(table)
