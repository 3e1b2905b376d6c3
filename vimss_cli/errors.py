"""The one exception type a user is meant to read.

Anything raised as `VimssError` is a problem with the user's input (file, option,
checkpoint); the CLI prints its message as one line and exits non-zero.
"""


class VimssError(Exception):
    """A user-facing error whose message names the problem in one line."""


def first_line(err: BaseException) -> str:
    """The first line of a library's exception (or its type), to fold into a VimssError."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


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
