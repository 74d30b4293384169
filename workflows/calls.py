"""Running an activity from a workflow: always through its `contracts.activities` reference.

The reference carries the name, the types, the timeout and the retry policy, so a call site
states only what is particular to it (its argument, the Stripe task queue's name).
"""

from __future__ import annotations

from types import NoneType
from typing import Any, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.activities import ActivityRef

I = TypeVar("I")  # noqa: E741  # the conventional name of an input type
O = TypeVar("O")  # noqa: E741


def _args(ref: ActivityRef[I, O], arg: I) -> list[Any]:
    return [arg] if ref.takes_argument else []


def _result_type(ref: ActivityRef[I, O]) -> type[O] | None:
    # None for an activity that returns nothing: decoded as before references existed.
    return None if ref.output is NoneType else ref.output


async def run(ref: ActivityRef[I, O], arg: I, *, task_queue: str | None = None) -> O:
    """Run ``ref`` to completion with ``arg``; ``task_queue`` is required for (and only for) a
    Stripe activity, whose queue name is a deployment setting the workflow carries."""
    if ref.local:
        raise ValueError(f"{ref.name} is a local activity: use run_local")
    if (ref.queue == "stripe") != (task_queue is not None):
        raise ValueError(f"{ref.name} runs on the {ref.queue} queue: task_queue={task_queue!r}")
    result: O = await workflow.execute_activity(
        ref.name,
        args=_args(ref, arg),
        task_queue=task_queue,
        start_to_close_timeout=ref.start_to_close,
        heartbeat_timeout=ref.heartbeat,
        retry_policy=ref.retry,
        result_type=_result_type(ref),
    )
    return result


async def run_local(ref: ActivityRef[I, O], arg: I) -> O:
    """Run the local activity ``ref`` to completion with ``arg``."""
    if not ref.local:
        raise ValueError(f"{ref.name} is not a local activity: use run")
    result: O = await workflow.execute_local_activity(
        ref.name,
        args=_args(ref, arg),
        start_to_close_timeout=ref.start_to_close,
        retry_policy=ref.retry,
        result_type=_result_type(ref),
    )
    return result
