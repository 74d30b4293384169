"""`/healthz`: is the API able to reach its database and Temporal (and, deep, a worker)?"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.state import AppState
from db.engine import ping

router = APIRouter()

_CHECK_TIMEOUT = 5.0


async def _check(check: Awaitable[None]) -> str:
    try:
        await asyncio.wait_for(check, _CHECK_TIMEOUT)
    except Exception as error:
        return f"error: {type(error).__name__}: {error}".strip()
    return "ok"


@router.get("/healthz", summary="Health of the API's dependencies")
async def healthz(request: Request, deep: bool = False) -> JSONResponse:
    """Check the database and Temporal; with ``deep=true`` also run a workflow on a worker.

    Returns 200 when every check is ``ok``, 503 otherwise, with one entry per check.
    """
    state: AppState = request.app.state.tenure
    checks: dict[str, str] = {
        "database": await _check(ping(state.engine)),
        "temporal": await _check(_temporal_ok(state)),
    }
    if deep and checks["temporal"] == "ok":
        checks["worker"] = await _check(_worker_ok(state))
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if healthy else 503)


async def _temporal_ok(state: AppState) -> None:
    client = await state.temporal()
    await client.service_client.check_health()


async def _worker_ok(state: AppState) -> None:
    client = await state.temporal()
    await client.execute_workflow(
        "WorkerHealth",
        id=f"healthz-{uuid.uuid4()}",
        task_queue=state.settings.task_queue,
        execution_timeout=timedelta(seconds=_CHECK_TIMEOUT),
        result_type=str,
    )
