"""The services of the application, for routes: ``services: ServicesDep``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services import Services


def _services(request: Request) -> Services:
    services: Services = request.app.state.services  # built once, in the app's lifespan
    return services


ServicesDep = Annotated[Services, Depends(_services)]
