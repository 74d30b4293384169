"""The ASGI application factory. Nothing is created at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from devstack.stripe_emulator import control, test_cards
from devstack.stripe_emulator.pipeline import RAW_SEND_KEY, Emulator
from devstack.stripe_emulator.settings import EmulatorSettings

_V1_METHODS = ["GET", "POST", "DELETE"]


class EmulatorApp(Starlette):
    """Starlette app that keeps the server's own ``send`` in the scope.

    Starlette wraps ``send`` in middleware closures; the ``drop`` fault needs the
    server's original one to reach the connection's transport.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope."""
        if scope["type"] == "http":
            scope[RAW_SEND_KEY] = send
        await super().__call__(scope, receive, send)


async def _v1(request: Request) -> Response:
    emulator = request.app.state.emulator
    assert isinstance(emulator, Emulator)
    return await emulator.handle(request)


def create_app(settings: EmulatorSettings | None = None) -> Starlette:
    """Build a fresh emulator app with empty state.

    Args:
        settings: the instance's knobs; defaults suit tests.

    Returns:
        The Starlette app; ``app.state.emulator`` is its `Emulator`.
    """
    emulator = Emulator(settings or EmulatorSettings())

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        await emulator.webhooks.aclose()

    app = EmulatorApp(
        routes=[*control.ROUTES, *test_cards.ROUTES, Route("/v1/{rest:path}", _v1, methods=_V1_METHODS)],
        lifespan=lifespan,
    )
    app.state.emulator = emulator
    return app
