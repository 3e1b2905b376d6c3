"""`python -m vimss_cli` runs the CLI."""

from .cli import main

main()
