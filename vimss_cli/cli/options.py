"""What the commands share: the Typer app and its help, the consoles, the option types and
enums, warnings and the one-line error form every user-facing problem takes, progress bars."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from typer._click.core import Context  # typer vendors click: its commands take this Context
from typer.core import TyperCommand, TyperGroup, TyperOption

from ..errors import Terminated, VimssError, one_line


class _FlagHelp:
    """-h/--help shown as the flag it is, without a `<bool>` value (the app and every command)."""

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.metavar = ""
        return option


class VimssGroup(_FlagHelp, TyperGroup):
    """The `vimss` app itself."""


class VimssCommand(_FlagHelp, TyperCommand):
    """Help as a user reads it: flags without a `<bool>` value, usage as INPUTS... not {inputs}...."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if getattr(param, "is_flag", False):
                param.metavar = ""

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        return [
            re.sub(r"\{(\w+)\}", lambda m: m.group(1).upper(), piece) for piece in super().collect_usage_pieces(ctx)
        ]


app = typer.Typer(
    cls=VimssGroup,
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


RecognizerOption = Annotated[
    str | None,
    typer.Option(
        "--recognizer",
        help="Instrument recogniser: without -i it hears the instruments, with -i it warns about named ones it does "
        "not hear (experimental: vimss-recognizer, bundled; or a folder, or Hub repo org/name[@rev]).",
    ),
]
SplitterOption = Annotated[
    str | None,
    typer.Option(
        "--splitter",
        help="Player splitter for an instrument named twice (-i vn,vn,va,vc: vn1 the upper part, vn2 the lower; "
        "default: the bundled vimss-splitter; or a folder, or Hub repo org/name[@rev]).",
    ),
]
TrustPickleOption = Annotated[
    bool, typer.Option("--trust-pickle", help="Allow a .pt --detector: it is a pickle and runs code when loaded.")
]


def warn(message: str) -> None:
    """A warning line on stderr: the run goes on."""
    err_console.print(f"[yellow]warning:[/yellow] {message}", highlight=False, soft_wrap=True)


def print_error(err: BaseException | str) -> None:
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
    except BrokenPipeError:  # `vimss models --json | head`: the reader has all it wanted
        quiet_broken_pipe()
    except Exception as err:
        message = unexpected(err)
        print_error(f"{message} (set VIMSS_DEBUG=1 for details)")
        if as_json:
            print(json.dumps({"error": message}))
        raise typer.Exit(1) from None


def unexpected(err: Exception) -> str:
    """An error no check foresaw, in one line (raised again as it is with VIMSS_DEBUG=1)."""
    if os.environ.get("VIMSS_DEBUG"):
        raise err
    return f"unexpected {type(err).__name__}: {one_line(err)}"


def quiet_broken_pipe() -> NoReturn:
    """Standard output was closed early: stop without a word, as a Unix filter does (128 + SIGPIPE)."""
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise typer.Exit(141)


def quiet_hub_logs() -> None:
    """huggingface_hub logs each retry; the CLI reports a failed download in one line."""
    from huggingface_hub.utils import logging as hf_logging

    hf_logging.set_verbosity_error()


HEARTBEAT = 60.0
"""Seconds between progress lines when stderr is no terminal (a log, --json): a long input is
not silent for minutes."""


class TrackProgress:
    """One input's progress: the bar on a terminal, else a line on stderr at most every HEARTBEAT s."""

    def __init__(self, progress: Progress, name: str) -> None:
        self.progress, self.name = progress, name
        self.task: TaskID = progress.add_task(name, total=None)
        self.total: int | None = None
        self.started = self.said = time.monotonic()

    def start(self, total: int | None) -> None:
        self.total = total
        self.progress.update(self.task, total=total)

    def advance(self, done: int) -> None:
        self.progress.update(self.task, completed=done)
        now = time.monotonic()
        if self.progress.disable and now - self.said >= HEARTBEAT:
            self.said = now
            share = f"{done / self.total:.0%}" if self.total else f"{done} frames"
            err_console.print(f"{self.name}: {share} after {(now - self.started) / 60:.1f} min", highlight=False)


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
