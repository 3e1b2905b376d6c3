"""The `vimss` command line: parses options, calls the Python API, prints results.

Every user-facing problem arrives as a `VimssError` and leaves as one line on stderr
with exit code 1; nothing here does separation work itself. This module is the entry
point: the top-level options (`--version`, `--list-models`) and the signal handlers.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from typer._click.core import Context  # typer vendors click: its commands take this Context

from ..errors import Terminated

# The commands register on the app as they are imported, in the order `vimss --help` lists them.
# isort: off
from . import separate, identify, evaluate, synth, train, models  # noqa: F401

# isort: on
from .options import app, out_console, print_error, quiet_broken_pipe


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
    """The console script: usage errors as one line (and {"error": ...} with --json), exit 2;
    a reader that closes standard output early (`| head`) ends the run without a word."""
    import signal

    from typer import Abort
    from typer._click.exceptions import NoArgsIsHelpError, UsageError

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)
    # A shell without job control starts `cmd &` with SIGINT ignored, and Python then leaves it
    # so: `kill -INT` would not stop (and save) a `nohup vimss train ... &` run.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = app(standalone_mode=False, prog_name="vimss")
    except NoArgsIsHelpError as err:  # `vimss separate` alone: its help, as click gives it
        out_console.print(err.format_message(), highlight=False)
        code = 2
    except UsageError as err:
        command = err.ctx.command_path if err.ctx is not None else "vimss"
        message = f"{err.format_message()} (see {command} --help)"
        print_error(message)
        if "--json" in sys.argv:
            print(json.dumps({"error": message}))
        code = 2
    except Abort:
        code = 130
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        quiet_broken_pipe()
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
