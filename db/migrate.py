"""Running Alembic migrations from code (the CLI and `tenure dev` call this)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from db.engine import normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database schema to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def current_heads() -> tuple[str, ...]:
    """The head revision(s) of our migration scripts."""
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory.from_config(alembic_config("postgresql://x/y")).get_heads())
