"""Command routes: each builds the one command type it names; sending it is the same for all.

A route is a plain function from its HTTP inputs (body, path, headers) to its command,
registered with `command_route`, which sends the command to the workspace's subscription as
the Update its ``kind`` names and answers its `CommandResult` (a refusal becomes the error
body by `api.errors`). `COMMAND_ROUTES` lists every route and the command type it sends:
`tests/static/test_commands_declared_once.py` checks it against `billing.COMMANDS`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from fastapi import APIRouter, Request

from api.state import AppState
from billing import CommandResult
from billing.commands import AnyCommand, CommandBase

C = TypeVar("C", bound=AnyCommand)
P = ParamSpec("P")


@dataclass(frozen=True)
class CommandRoute:
    """One HTTP route and the command type it sends."""

    method: str
    path: str
    sends: type[CommandBase]


COMMAND_ROUTES: list[CommandRoute] = []


def command_route(
    router: APIRouter, method: str, path: str, sends: type[C], *, summary: str
) -> Callable[[Callable[P, C]], Callable[P, C]]:
    """Register the decorated builder as the route ``method path`` that sends ``sends``.

    The builder takes the route's parameters as FastAPI declares them; the route adds the
    request (and ``workspace_id`` when the builder does not need it) to send the command.
    """

    def register(build: Callable[P, C]) -> Callable[P, C]:
        own = inspect.signature(build, eval_str=True)
        added = [inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request)]
        if "workspace_id" not in own.parameters:
            added.append(inspect.Parameter("workspace_id", inspect.Parameter.KEYWORD_ONLY, annotation=str))
        keyword = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own.parameters.values()]

        builder: Callable[..., C] = build

        async def endpoint(**params: Any) -> CommandResult:
            request: Request = params.pop("request")
            if "workspace_id" in own.parameters:
                workspace_id: str = params["workspace_id"]
            else:
                workspace_id = params.pop("workspace_id")
            return await send(request, workspace_id, builder(**params))

        # FastAPI reads the parameters from the signature: the builder's, plus the request.
        endpoint.__signature__ = own.replace(  # type: ignore[attr-defined]
            parameters=[*added, *keyword], return_annotation=CommandResult
        )
        endpoint.__name__ = endpoint.__qualname__ = build.__name__
        endpoint.__doc__ = build.__doc__ or sends.__doc__
        prefix = router.prefix
        router.add_api_route(path, endpoint, methods=[method], summary=summary, response_model=CommandResult)
        COMMAND_ROUTES.append(CommandRoute(method, prefix + path, sends))
        return build

    return register


async def send(request: Request, workspace_id: str, command: AnyCommand) -> CommandResult:
    """Send ``command`` to the workspace's subscription (the Update its kind names)."""
    state: AppState = request.app.state.tenure
    client = await state.tenure()
    return await client.execute(workspace_id, command)
