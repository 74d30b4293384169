"""`tenure keys`: payload encryption keys (docs/operations.md, "Encrypted payloads and keys")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console

from cli.errors import USAGE, fail, friendly_errors, load_settings
from config.codec import PayloadKeyError, generate_key
from config.temporal import payload_keys

keys_app = typer.Typer(help="Payload encryption keys (AES-256-GCM codec).", no_args_is_help=True)
console = Console()


@keys_app.command("generate")
def generate(
    key_id: Annotated[
        str | None, typer.Option("--id", help="The key's id (default: k<today>, e.g. k20261204).")
    ] = None,
) -> None:
    """Print a new random key as `id:base64key`, to put first in TENURE_PAYLOAD_KEYS."""
    try:
        line = generate_key(key_id or f"k{datetime.now(UTC):%Y%m%d}")
    except PayloadKeyError as error:
        fail(str(error), USAGE)
    print(line)  # plain: the line is meant to be piped or pasted whole


@keys_app.command("check")
def check() -> None:
    """Read the configured keys and print their ids (active first); never the keys."""
    with friendly_errors():
        try:
            keys = payload_keys(load_settings())
        except PayloadKeyError as error:
            fail(str(error), USAGE)
        if not keys:
            console.print("no payload keys: payloads are stored in clear")
            return
        console.print(f"encrypting with {keys[0].key_id}", highlight=False)
        for key in keys[1:]:
            console.print(f"decrypting also with {key.key_id}", highlight=False)
