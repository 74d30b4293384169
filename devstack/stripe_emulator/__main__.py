"""``python -m devstack.stripe_emulator --host 127.0.0.1 --port 12111``: run in the foreground."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable

import uvicorn

from devstack.stripe_emulator.app import create_app
from devstack.stripe_emulator.server import bind_socket
from devstack.stripe_emulator.settings import EmulatorSettings


def _positive(what: str) -> Callable[[str], float]:
    """A parser of a positive, finite number; its error names ``what`` it is."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        # Zero or less would refuse every request (or forget every key at once): a typo.
        if not (value > 0 and math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"{what} must be a positive number")
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve until interrupted.

    Args:
        argv: command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0 after a clean shutdown, 2 when the port cannot be bound.
    """
    parser = argparse.ArgumentParser(
        prog="python -m devstack.stripe_emulator",
        description="Tenure's Stripe emulator (API 2026-10-28.endive subset).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--public-url", default=None, help="base URL for hosted invoice links")
    parser.add_argument("--log-level", default="info")
    parser.add_argument(
        "--rate-limit",
        type=_positive("the rate limit (requests per second)"),
        default=None,
        metavar="N",
        help="answer 429 beyond N /v1 requests per second per API key, as Stripe does "
        "(live mode: 100); unlimited by default",
    )
    parser.add_argument(
        "--idempotency-ttl",
        type=_positive("the idempotency key lifetime (seconds)"),
        default=24 * 3600.0,
        metavar="SECONDS",
        help="prune idempotency keys older than this, as Stripe does after 24 hours (the default)",
    )
    args = parser.parse_args(argv)
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        print(
            f"stripe emulator: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    settings = EmulatorSettings(
        public_url=args.public_url,
        rate_limit_per_second=args.rate_limit,
        idempotency_key_ttl_s=args.idempotency_ttl,
    )
    app = create_app(settings)
    config = uvicorn.Config(app, log_level=args.log_level, lifespan="on")
    print(f"stripe emulator listening on http://{args.host}:{args.port}", file=sys.stderr)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
