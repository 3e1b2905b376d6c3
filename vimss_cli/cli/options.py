"""What the commands share: the Typer app and its help, the consoles, the option types and
enums, warnings and the one-line error form every user-facing problem takes, progress bars."""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from typer._click.core import Context  # typer vendors click: its commands take this Context
from typer.core import TyperCommand, TyperOption

from ..errors import Terminated, VimssError, one_line

if TYPE_CHECKING:  # the commands import what they run when they run
    pass


class VimssCommand(TyperCommand):
    """Help as a user reads it: flags without a `<bool>` value, usage as INPUTS... not {inputs}...."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if getattr(param, "is_flag", False):
                param.metavar = ""

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        return [
            re.sub(r"\{(\w+)\}", lambda m: m.group(1).upper(), piece) for piece in super().collect_usage_pieces(ctx)
        ]


app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="VIMSS: separate chamber-music recordings and videos into one stem per instrument.",
)


command = functools.partial(app.command, cls=VimssCommand)


err_console = Console(stderr=True)


out_console = Console(width=None if sys.stdout.isatty() else 200)
"""Piped output (a file, another program) is not cut to 80 columns."""


class PlayerLayout(StrEnum):
    detect = "detect"
    strips = "strips"


class OutputFormat(StrEnum):
    wav = "wav"
    flac = "flac"
    mp3 = "mp3"


class BitDepth(StrEnum):
    b16 = "16"
    b24 = "24"
    b32f = "32f"


class ClipMode(StrEnum):
    rescale = "rescale"
    clamp = "clamp"


class DeviceChoice(StrEnum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


# Options `separate`, `evaluate` (and `train`, for the device) declare alike.
DeviceOption = Annotated[
    DeviceChoice, typer.Option("--device", "-d", help="Where the network runs (auto: a GPU if any).")
]


WienerOption = Annotated[
    int,
    typer.Option(
        "--wiener-iterations", help="norbert Wiener EM iterations; 0 applies the masks directly (the paper used 2)."
    ),
]


DetectorOption = Annotated[
    Path | None,
    typer.Option(
        help="Video: detector folder, or YOLO .pt with --trust-pickle (default: COCO persons, else bundled); "
        "evaluate uses it for pieces without recorded boxes."
    ),
]


TrustPickleOption = Annotated[
    bool, typer.Option("--trust-pickle", help="Allow a .pt --detector: it is a pickle and runs code when loaded.")
]


def warn(message: str) -> None:
    """A warning line on stderr: the run goes on."""
    err_console.print(f"[yellow]warning:[/yellow] {message}", highlight=False, soft_wrap=True)


def print_error(err: BaseException) -> None:
    """The one-line form every user-facing error takes on stderr."""
    err_console.print(f"[red]error:[/red] {err}", highlight=False, soft_wrap=True)


@contextmanager
def user_errors(as_json: bool = False) -> Iterator[None]:
    """Turn errors into one line and exit code 1 (a traceback only with VIMSS_DEBUG=1);
    with `as_json`, a fatal error is also printed on stdout as {"error": ...}."""
    try:
        yield
    except VimssError as err:
        print_error(err)
        if as_json:
            print(json.dumps({"error": str(err)}))
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/red]")
        raise typer.Exit(130) from None
    except Terminated as stop:
        import signal

        err_console.print(f"[red]stopped by {signal.Signals(stop.signum).name}[/red]")
        raise typer.Exit(128 + stop.signum) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as err:
        if os.environ.get("VIMSS_DEBUG"):
            raise
        text = one_line(err)
        err_console.print(
            f"[red]error:[/red] unexpected {type(err).__name__}: {text} (set VIMSS_DEBUG=1 for details)",
            highlight=False,
            soft_wrap=True,
        )
        if as_json:
            print(json.dumps({"error": f"unexpected {type(err).__name__}: {text}"}))
        raise typer.Exit(1) from None


def quiet_hub_logs() -> None:
    """huggingface_hub logs each retry; the CLI reports a failed download in one line."""
    from huggingface_hub.utils import logging as hf_logging

    hf_logging.set_verbosity_error()


def set_total(progress: Progress, task: TaskID, total: int) -> None:
    progress.update(task, total=total)


def set_completed(progress: Progress, task: TaskID, completed: int) -> None:
    progress.update(task, completed=completed)


def progress_bar(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not enabled,
        transient=True,
    )


class Layout(StrEnum):
    solos = "solos"
    urmp = "urmp"


class Split(StrEnum):
    train = "train"
    test = "test"
    all = "all"
