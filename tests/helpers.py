"""What the tests of the command line share: the CLI run in process, the repository root, the one-line error check."""

from pathlib import Path

from typer.testing import CliRunner

from vimss_cli.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def vimss(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def assert_one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:")
    assert "Traceback" not in result.output + result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def stem_files(folder: Path) -> list[str]:
    """The files a separation wrote in a folder, as a user lists them (its hidden manifest aside)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
