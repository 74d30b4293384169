"""``python -m devstack.stripe_emulator --host 127.0.0.1 --port 12111``: run in the foreground."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from devstack.stripe_emulator.app import create_app
from devstack.stripe_emulator.server import bind_socket
from devstack.stripe_emulator.settings import EmulatorSettings


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
    args = parser.parse_args(argv)
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        print(
            f"stripe emulator: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    app = create_app(EmulatorSettings(public_url=args.public_url))
    config = uvicorn.Config(app, log_level=args.log_level, lifespan="on")
    print(f"stripe emulator listening on http://{args.host}:{args.port}", file=sys.stderr)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
