"""The `vimss` command line: one module per command over the Python API (`options.py`: what they share)."""

from .main import app, main

__all__ = ["app", "main"]
