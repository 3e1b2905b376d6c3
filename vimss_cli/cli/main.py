"""The `vimss` command line: parses options, calls the Python API, prints results.

Every user-facing problem arrives as a `VimssError` and leaves as one line on stderr
with exit code 1; nothing here does separation work itself. This module is the entry
point: the top-level options (`--version`, `--list-models`) and the signal handlers.
"""

from __future__ import annotations

from typing import Annotated

import typer
from typer._click.core import Context  # typer vendors click: its commands take this Context

from ..errors import Terminated

# The commands register on the app as they are imported, in the order `vimss --help` lists them.
# isort: off
from . import separate, evaluate, synth, train, models  # noqa: F401

# isort: on
from .options import app, out_console


@app.callback(invoke_without_command=True)
def _top(
    ctx: Context,
    show_version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", metavar="")] = False,
    list_models: Annotated[
        bool, typer.Option("--list-models", help="List the models (as `vimss models`).", metavar="")
    ] = False,
) -> None:
    """VIMSS: separate chamber-music recordings and videos into one stem per instrument."""
    if show_version:
        from .. import __version__

        out_console.print(f"vimss {__version__}", highlight=False)
        raise typer.Exit()
    if list_models:
        models.models(as_json=False)
        raise typer.Exit()
    if ctx.invoked_subcommand is None:
        out_console.print(ctx.get_help(), highlight=False)
        raise typer.Exit()


def _terminate(signum: int, _frame: object) -> None:
    raise Terminated(signum)


def main() -> None:
    import signal

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)
    app()


if __name__ == "__main__":
    main()
