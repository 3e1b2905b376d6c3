"""The one exception type a user is meant to read.

Anything raised as `VimssError` is a problem with the user's input (file, option,
checkpoint); the CLI prints its message as one line and exits non-zero.
"""


class VimssError(Exception):
    """A user-facing error whose message names the problem in one line."""


def one_line(err: BaseException, limit: int = 200) -> str:
    """A library's exception folded into a VimssError or an error line: its first line,
    spaces collapsed, at most `limit` characters (its type's name when it says nothing)."""
    lines = [" ".join(line.split()) for line in str(err).splitlines()]
    text = next((line for line in lines if line), type(err).__name__)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and its noun in the number it takes: '1 box', '3 boxes' (messages never say '1 boxes')."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived (the CLI turns them into this): it unwinds like Ctrl-C,
    so partial outputs are removed and a training run saves where it is."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class TrainingStopped(Exception):
    """Training was interrupted; `latest/` holds the step it reached, so `--resume` continues."""

    def __init__(self, step: int, run_dir: object, cause: KeyboardInterrupt | Terminated) -> None:
        super().__init__(f"interrupted at step {step}; {run_dir}/latest holds it")
        self.step, self.run_dir, self.cause = step, run_dir, cause
