"""Turning failures into one-line messages and documented exit codes (see docs/cli.md)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import psycopg
import sqlalchemy.exc
from pydantic import ValidationError
from rich.console import Console
from temporalio.service import RPCError, RPCStatusCode

from billing.errors import CATALOG_INVALID, DomainError
from client import TenureError
from config.codec import PayloadKeyError
from config.dev_state import running_environment
from config.settings import Settings, environment_variables
from contracts.errors import TEMPORARILY_UNAVAILABLE, TOO_MANY_REQUESTS
from db.engine import DatabaseConfigError
from devstack.ports import PortInUseError
from devstack.postgres import PostgresError
from devstack.stack import StackError
from devstack.temporal import TemporalError

# Exit codes (documented in docs/cli.md).
OK = 0
FAILED = 1  # the command ran and failed
USAGE = 2  # bad arguments or configuration (Typer also uses 2 for usage errors)
UNAVAILABLE = 3  # a dependency (database, Temporal, Stripe) cannot be reached
REJECTED = 4  # the engine refused the command (a domain error code is printed)

stderr = Console(stderr=True, highlight=False)

# Refusals that mean "not now" rather than "no": a script may retry them (exit 3, not 4).
_TRY_LATER = frozenset({TOO_MANY_REQUESTS, TEMPORARILY_UNAVAILABLE})


def refusal_exit_code(code: str) -> int:
    """The exit code of a refused command: 3 when retrying later may work, else 4."""
    return UNAVAILABLE if code in _TRY_LATER else REJECTED


class CliError(Exception):
    """An error with a message for people and an exit code."""

    def __init__(self, message: str, exit_code: int = FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def fail(message: str, exit_code: int = FAILED) -> NoReturn:
    """Print ``error: message`` on stderr and exit."""
    stderr.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    sys.exit(exit_code)


def load_settings(*, discover: bool = True, **overrides: object) -> Settings:
    """Read settings from the environment; a bad value exits with a one-line error.

    Args:
        discover: take what is not set from a `tenure dev` running with the same data
            directory (`config.dev_state`): support commands in a second terminal just work.
            The servers and `tenure config` pass False: they run with what they are given.
    """
    try:
        if discover:
            data_dir = Settings(**overrides).data_dir  # type: ignore[arg-type]
            for name, value in running_environment(data_dir).items():
                os.environ.setdefault(name, value)
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        env = environment_variables()
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        fail(f"{env.get(field, field)}: {first['msg']}", USAGE)


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Map known failure types to one-line messages and exit codes, never a traceback."""
    try:
        yield
    except CliError as error:
        fail(error.message, error.exit_code)
    except TenureError as refused:
        fail(f"{refused.code}: {refused.message}", refusal_exit_code(refused.code))
    except DomainError as error:
        if error.code == CATALOG_INVALID:  # configuration, not a refused command
            fail(f"TENURE_CATALOG: {error.message}", USAGE)
        fail(f"{error.code}: {error.message}", REJECTED)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:
        mapped = _map(error)
        if mapped is None:
            raise
        fail(*mapped)


_RPC_UNAVAILABLE = frozenset(
    {RPCStatusCode.UNAVAILABLE, RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.DEADLINE_EXCEEDED}
)


def _map(error: Exception) -> tuple[str, int] | None:
    if isinstance(error, PortInUseError | DatabaseConfigError | PayloadKeyError):
        return str(error), USAGE
    if isinstance(error, sqlalchemy.exc.OperationalError | psycopg.OperationalError):
        reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
        return f"cannot reach the database ({reason}); check TENURE_DATABASE_URL", UNAVAILABLE
    if isinstance(error, PostgresError | TemporalError | StackError):
        return str(error), UNAVAILABLE
    if isinstance(error, ConnectionError):
        return f"connection failed: {error}", UNAVAILABLE
    if isinstance(error, RuntimeError) and str(error).startswith("Failed client connect"):
        return "cannot reach Temporal; check TENURE_TEMPORAL_ADDRESS", UNAVAILABLE
    if isinstance(error, RPCError) and error.status in _RPC_UNAVAILABLE:
        return f"{TEMPORARILY_UNAVAILABLE}: Temporal cannot answer now ({error.message})", UNAVAILABLE
    return None
