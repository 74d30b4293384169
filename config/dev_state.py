"""How a running `tenure dev` tells the other `tenure` commands where it is.

`tenure dev` chooses its own database URL, Temporal address, Stripe emulator and dev
payload key, and hands them to its children only. A person who opens a second terminal and
types `tenure tokens create` or `tenure show` would otherwise be told that
TENURE_DATABASE_URL is not set. So once the stack is healthy it writes
``<data_dir>/dev.json`` (its process id, its URLs and the variables its children run with),
readable by its owner only, and removes it when it stops. The support commands read it when
the variable is not set in their own environment: what a person sets always wins, and a
file left by a `tenure dev` that was killed is ignored (its process is gone).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

STATE_FILE = "dev.json"
# The variables a support command needs to reach the dev stack (servers get theirs from
# `tenure dev` itself, so nothing else is shared).
SHARED = (
    "TENURE_DATABASE_URL",
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TENURE_PAYLOAD_KEYS_FILE",
    "STRIPE_API_KEY",
    "TENURE_STRIPE_API_BASE",
)


def state_path(data_dir: Path | str) -> Path:
    """Where `tenure dev` with this data directory describes itself."""
    return Path(data_dir) / STATE_FILE


def write_state(data_dir: Path | str, env: Mapping[str, str], urls: Mapping[str, str]) -> Path:
    """Describe this running `tenure dev` (atomically: a reader never sees half a file)."""
    path = state_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "pid": os.getpid(),
        "urls": dict(urls),
        "env": {name: env[name] for name in SHARED if name in env},
    }
    partial = path.with_suffix(".json.partial")
    # 0600 from the start: the file names the dev database and the dev payload key's path.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(document, out, indent=2)
    partial.replace(path)
    return path


def remove_state(data_dir: Path | str) -> None:
    """Forget this `tenure dev` (only if the file is ours: a second one may own it)."""
    path = state_path(data_dir)
    if _read(path).get("pid") == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def running_environment(data_dir: Path | str) -> dict[str, str]:
    """The variables of the `tenure dev` running with ``data_dir``; empty when none runs."""
    document = _read(state_path(data_dir))
    pid = document.get("pid")
    if not isinstance(pid, int) or not _alive(pid):
        return {}
    env = document.get("env")
    if not isinstance(env, dict):
        return {}
    return {k: v for k, v in env.items() if k in SHARED and isinstance(v, str)}


def ensure_secret_file(path: Path) -> str:
    """A random secret kept in ``path`` (0600), made on first use: `tenure dev`'s portal key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()


def _read(path: Path) -> dict[str, object]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True
