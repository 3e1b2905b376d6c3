"""The one exception type a user is meant to read.

Anything raised as `VimssError` is a problem with the user's input (file, option,
checkpoint); the CLI prints its message as one line and exits non-zero.
"""


class VimssError(Exception):
    """A user-facing error whose message names the problem in one line."""


def first_line(err: BaseException) -> str:
    """The first line of a library's exception (or its type), to fold into a VimssError."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0]
