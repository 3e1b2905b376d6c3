"""`vimss identify`: which instruments play in each input, as the recogniser hears them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ..errors import VimssError
from .options import (
    DeviceChoice,
    DeviceOption,
    RecognizerOption,
    command,
    out_console,
    print_error,
    unexpected,
    user_errors,
)


@command()
def identify(
    inputs: Annotated[list[Path], typer.Argument(help="Audio or video files, or folders of them.", show_default=False)],
    recognizer: RecognizerOption = None,
    device: DeviceOption = DeviceChoice.auto,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print which instruments play in each INPUT, as the recogniser (default: the bundled one) hears them."""
    with user_errors(as_json):
        from ..devices import resolve_device
        from ..nets.checkpoints import load_recognizer
        from ..recognition import hear_file
        from .separate import expand_folders

        files = expand_folders(inputs, Path("separated"))
        loaded = load_recognizer(recognizer)
        loaded.model.to(resolve_device(device.value))
        results: list[dict[str, Any]] = []
        for path in files:
            try:
                heard = hear_file(loaded.model, path)
            except Exception as err:  # one bad input never stops the others
                message = str(err) if isinstance(err, VimssError) else f"{path}: {unexpected(err)}"
                print_error(message)
                results.append({"input": str(path), "error": message})
                continue
            results.append({"input": str(path), **heard.to_json()})
        if as_json:
            print(json.dumps({"recognizer": loaded.name, "tracks": results}, indent=2))
        else:
            table = Table("input", "heard", "probabilities (from 0.05)")
            for r in results:
                if "error" not in r:
                    shown = sorted(((p, a) for a, p in r["probabilities"].items() if p >= 0.05), reverse=True)
                    table.add_row(r["input"], ", ".join(r["instruments"]), " ".join(f"{a} {p:.2f}" for p, a in shown))
            out_console.print(table)
        failed = sum("error" in r for r in results)
        if failed:
            if len(results) > 1:
                print_error(f"{failed} of {len(results)} inputs failed")
            raise typer.Exit(1)
