"""`vimss models` and `vimss convert-detector`: what models there are, and a trusted YOLO file made safe to load."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ..errors import VimssError

if TYPE_CHECKING:  # the commands import what they run when they run
    pass
from .options import (
    command,
    out_console,
    user_errors,
)


@command("convert-detector")
def convert_detector(
    weights: Annotated[Path, typer.Argument(help="An ultralytics YOLO .pt file you trust (it is unpickled).")],
    out: Annotated[Path, typer.Argument(help="Detector folder to write (detector.yaml + model.safetensors).")],
) -> None:
    """Convert a trusted YOLO .pt once into a detector folder, which loads without unpickling."""
    with user_errors():
        from ..video.detector import load_pickled_detector, save_detector

        if out.exists():
            raise VimssError(f"{out} exists; choose a new folder")
        found = load_pickled_detector(weights)
        save_detector(found.yolo.model.float(), out, found.yolo.model.names, found.image_size, half=False)
        out_console.print(f"{weights} -> {out}/ (use it with --detector {out})", highlight=False)


@command()
def models(as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False) -> None:
    """List bundled models and vimss models in the Hugging Face cache."""
    with user_errors(as_json):
        from ..nets.checkpoints import DEFAULT_MODEL, list_models

        entries = list_models()
        if as_json:
            print(json.dumps([asdict(e) for e in entries], indent=2))
            return
        if not entries:
            out_console.print("No models: none is bundled with this version and none is in the Hugging Face cache.")
            return
        table = Table("name", "source", "architecture", "conditioning", "path")
        default = {DEFAULT_MODEL: " (default)"}
        for e in entries:
            name = e.name + (default.get(e.name, "") if e.source == "bundled" else "")
            table.add_row(name, e.source, e.architecture, e.conditioning, e.path)
        out_console.print(table)
