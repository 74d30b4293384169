"""Fault injection for ``/v1`` requests, armed through ``POST /_emulator/faults``.

Modes: ``429`` (rate limited, with ``Stripe-Should-Retry: true``), ``500``
(``api_error``), ``slow`` (sleep, then answer normally) and ``drop`` (close the
connection without any response). Faults hit BEFORE the request touches state,
except with ``after: true`` (modes ``500`` and ``drop``): the request is executed
and its response stored for idempotent replay, then the client gets the fault,
which is the "lost response" case a retry with the same idempotency key must
survive without duplicating anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from devstack.stripe_emulator.state import JSON, new_id

MODES = ("429", "500", "slow", "drop")


class FaultSpecError(ValueError):
    """The fault specification sent to the control API is invalid."""


@dataclass
class Fault:
    """One armed fault; ``remaining`` counts down per matching request."""

    id: str
    mode: str
    remaining: int
    path_prefix: str
    method: str | None
    delay_s: float
    after: bool

    def to_json(self) -> JSON:
        """Return the control-API view of the fault."""
        return {
            "id": self.id,
            "mode": self.mode,
            "remaining": self.remaining,
            "path_prefix": self.path_prefix,
            "method": self.method,
            "delay_s": self.delay_s,
            "after": self.after,
        }


def parse_fault(spec: object) -> Fault:
    """Validate a control-API fault specification.

    Args:
        spec: the decoded JSON body ``{mode, count, path_prefix?, method?, delay_s?, after?}``.

    Returns:
        The armed fault.

    Raises:
        FaultSpecError: unknown mode, bad count or delay, ``after`` on a mode without it.
    """
    if not isinstance(spec, dict):
        raise FaultSpecError("body must be a JSON object")
    mode = str(spec.get("mode", ""))
    if mode not in MODES:
        raise FaultSpecError(f"mode must be one of {', '.join(MODES)}")
    count = spec.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise FaultSpecError("count must be a positive integer")
    prefix = spec.get("path_prefix", "/v1")
    if not isinstance(prefix, str) or not prefix.startswith("/v1"):
        raise FaultSpecError("path_prefix must start with /v1")
    method = spec.get("method")
    if method is not None and not isinstance(method, str):
        raise FaultSpecError("method must be a string")
    delay = spec.get("delay_s", 1.0)
    if not isinstance(delay, int | float) or isinstance(delay, bool) or delay < 0:
        raise FaultSpecError("delay_s must be a non-negative number")
    after = spec.get("after", False)
    if not isinstance(after, bool):
        raise FaultSpecError("after must be a boolean")
    if after and mode not in ("500", "drop"):
        raise FaultSpecError("after is only meaningful for modes 500 and drop")
    return Fault(
        id=new_id("flt", 10),
        mode=mode,
        remaining=count,
        path_prefix=prefix,
        method=method.upper() if method else None,
        delay_s=float(delay),
        after=after,
    )


class FaultInjector:
    """Armed faults, consumed first-armed first."""

    def __init__(self) -> None:
        """Start with no faults."""
        self._faults: list[Fault] = []

    def arm(self, fault: Fault) -> None:
        """Add a fault."""
        self._faults.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first fault matching this request.

        Args:
            method: request method.
            path: request path.

        Returns:
            The fault to apply, or None.
        """
        for fault in self._faults:
            if path.startswith(fault.path_prefix) and fault.method in (None, method):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def armed(self) -> list[Fault]:
        """Return the faults still armed."""
        return list(self._faults)

    def clear(self) -> None:
        """Disarm everything."""
        self._faults.clear()
