"""How a library's exception becomes the one line a user reads."""

from vimss_cli.errors import one_line


def test_one_line_keeps_the_first_line_collapsed_and_capped():
    assert one_line(ValueError("\n  bad   header \n  at byte 12\n")) == "bad header"
    assert one_line(RuntimeError("")) == "RuntimeError"
    long = one_line(OSError("x" * 500), limit=50)
    assert len(long) == 50 and long.endswith("...")
