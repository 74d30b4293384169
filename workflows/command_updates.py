"""The subscription workflow's command Updates, generated from `billing.COMMANDS`.

One named Update per command kind, each with its validator: the table is the one list of
commands, so adding a command type to `billing.Command` adds its Update. Named Updates
(rather than one dynamic handler) keep their names in the UI, the CLI and the workflow's
metadata, and let the payload converter decode each payload as its own command type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from billing import Command, CommandResult
    from billing.commands import COMMANDS, CommandBase


class CommandHandlers(Protocol):
    """What a workflow offers the generated Updates."""

    async def _execute(self, command: Command) -> CommandResult: ...

    def _validate(self, command: Command) -> None: ...


def _command_update(kind: str, command_type: type[CommandBase]) -> Callable[..., Any]:
    async def handler(self: CommandHandlers, command: Command) -> CommandResult:
        return await self._execute(command)

    def validator(self: CommandHandlers, command: Command) -> None:
        self._validate(command)

    # The SDK reads the payload's type from these annotations (so the pydantic converter
    # decodes `command_type`, not the union), skips an unannotated `self`, and requires the
    # validator's parameters to equal the handler's.
    handler.__annotations__ = {"command": command_type, "return": CommandResult}
    validator.__annotations__ = {"command": command_type, "return": None}
    handler.__name__ = handler.__qualname__ = kind
    validator.__name__ = validator.__qualname__ = f"_validate_{kind}"
    handler.__doc__ = command_type.__doc__
    summary = (command_type.__doc__ or "").split("\n\n")[0].strip() or None
    update = workflow.update(name=kind, description=summary)(handler)
    update.validator(validator)
    return update


_Workflow = TypeVar("_Workflow", bound=type)


def command_updates(cls: _Workflow) -> _Workflow:
    """Give ``cls`` the Update ``kind`` for every kind in `billing.COMMANDS`: its validator
    calls ``self._validate(command)`` and its handler ``await self._execute(command)``.

    Apply it below `workflow.defn`, which collects the Updates from the finished class.
    """
    for kind, command_type in COMMANDS.items():
        if hasattr(cls, kind):
            raise TypeError(f"{cls.__name__}.{kind} exists: the Update {kind!r} is generated")
        setattr(cls, kind, _command_update(kind, command_type))
    return cls
