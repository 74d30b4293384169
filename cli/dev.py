"""`tenure dev`: run the stack in the foreground until Ctrl-C."""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from cli.demo import DemoWorkspace, seed_demo
from config.settings import Settings
from devstack.stack import DevStack

_COLOURS = {
    "postgres": "blue",
    "temporal": "magenta",
    "stripe": "yellow",
    "smtp": "bright_blue",
    "worker": "green",
    "api": "cyan",
    "tenure": "bold white",
}


class LogPrinter:
    """Prints ``name | line`` with one colour per child; safe from several threads."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._lock = threading.Lock()

    def __call__(self, name: str, line: str) -> None:
        colour = _COLOURS.get(name, "white")
        with self._lock:
            self._console.print(
                f"[{colour}]{name:>8}[/] │ {line}", markup=True, highlight=False, soft_wrap=True
            )


def run_dev(settings: Settings, console: Console, *, demo: bool = False) -> int:
    """Start everything (with ``demo``, seed the demo workspace), print the URLs, wait for
    Ctrl-C (or a child dying), stop in order.

    Returns:
        The exit code: 0 after Ctrl-C/SIGTERM, 1 when a child died on its own.
    """
    stack = DevStack(settings, LogPrinter(console))
    stopping = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        stack.start()
        seeded = _seed(stack, console) if demo else None
        console.print(_urls_panel(stack, seeded))
        if seeded is not None:
            console.print(_demo_hint(seeded), highlight=False, soft_wrap=True)
        while not stopping.is_set():
            dead = stack.failed_child()
            if dead is not None:
                console.print(f"[bold red]{dead.name} exited with code {dead.exit_code()}; stopping[/]")
                return 1
            time.sleep(0.2)
        console.print("[bold]stopping (Ctrl-C)…[/]")
        return 0
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        console.print("[bold]stopped; data kept in[/] " + str(settings.data_dir))


def _seed(stack: DevStack, console: Console) -> DemoWorkspace:
    console.print("[bold]seeding the demo workspace…[/]")
    emulator = f"http://127.0.0.1:{stack.settings.dev_stripe_port}" if stack.emulated_stripe else None
    return seed_demo(stack.env, emulator)


def _demo_hint(seeded: DemoWorkspace) -> str:
    expires = seeded.link.expires_at.strftime("%H:%M UTC")
    return (
        f"demo workspace [bold]{seeded.workspace_id}[/]: the link for {seeded.admin} (its admin) "
        f"opens once, until {expires} (`tenure dev --demo` again prints a fresh link); in another terminal: "
        f"[bold]tenure show {seeded.workspace_id}[/]"
    )


def _urls_panel(stack: DevStack, seeded: DemoWorkspace | None = None) -> Panel:
    table = Table.grid(padding=(0, 2))
    for name, url in stack.urls.items():
        table.add_row(f"[bold]{name}[/]", url)
    if seeded is not None:
        # Last: the row a person copies (Rich folds it on a narrow terminal, never cuts it).
        table.add_row("[bold]Billing page (demo)[/]", seeded.link.url)
    return Panel(table, title="Tenure is running — Ctrl-C stops everything", border_style="green")
