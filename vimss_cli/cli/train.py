"""`vimss train`: a run of the training loop, and how to continue it when it is stopped."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import TrainingStopped, VimssError

if TYPE_CHECKING:  # the commands import what they run when they run
    pass
from .options import (
    DeviceChoice,
    DeviceOption,
    command,
    err_console,
    out_console,
    progress_bar,
    user_errors,
)


@command()
def train(
    data: Annotated[list[Path], typer.Option("--data", help="Solos- or URMP-layout folder; repeat to combine.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Run folder: latest/, best/, log.csv, train_config.json.")
    ] = Path("runs/vimss"),
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help='JSON: {"model": {...}, "steps": ..., ...} (see TrainConfig).')
    ] = None,
    val_data: Annotated[
        list[Path] | None,
        typer.Option(
            "--val-data",
            help="Folder for fixed validation mixes (default: --data); repeat for several folds, chosen on their mean.",
        ),
    ] = None,
    report_data: Annotated[
        list[Path] | None,
        typer.Option(
            "--report-data",
            help="Folder validated and logged beside --val-data but never used to choose best/ (repeatable).",
        ),
    ] = None,
    steps: Annotated[int | None, typer.Option(help="Total optimisation steps.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Mixtures per step (per process under torchrun).")] = None,
    lr: Annotated[float | None, typer.Option(help="Adam learning rate.")] = None,
    conditioning: Annotated[
        str | None, typer.Option(help="Model conditioning (none, film-encoder, label-multiply, …).")
    ] = None,
    mask: Annotated[str | None, typer.Option(help="ratio (L2 loss) or binary (BCE loss).")] = None,
    validate_every: Annotated[int | None, typer.Option(help="Steps between validations and checkpoints.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for weights and data.")] = None,
    snapshots: Annotated[
        bool | None,
        typer.Option(
            "--snapshots/--no-snapshots", help="Keep every validation's weights in snapshots/<step>/ (for averaging)."
        ),
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue the run in --out from latest/.")] = False,
    init: Annotated[
        str | None,
        typer.Option(
            help="Start from this model's weights (folder, bundled name or Hub id) to fine-tune; "
            "its config is the model's unless --config gives one."
        ),
    ] = None,
    device: DeviceOption = DeviceChoice.auto,
    workers: Annotated[int, typer.Option(help="Data-loading processes.")] = 2,
) -> None:
    """Train a model on mix-and-separate mixtures (torchrun for several GPUs or nodes)."""
    with user_errors():
        if workers < 0:
            raise VimssError(f"--workers must be 0 (load in this process) or more, got {workers}")
        from ..training.config import run_config
        from ..training.loop import train as run_training

        settings = run_config(
            config,
            out,
            resume=resume,
            init=init,
            conditioning=conditioning,
            mask=mask,
            steps=steps,
            batch_size=batch_size,
            lr=lr,
            validate_every=validate_every,
            seed=seed,
            snapshots=snapshots,
        )
        rank = int(os.environ.get("RANK", "0"))
        with progress_bar(rank == 0 and sys.stderr.isatty()) as progress:
            task = progress.add_task("training", total=settings.steps)

            def on_step(step: int, total: int, loss: float) -> None:
                progress.update(task, completed=step, description=f"training (loss {loss:.4f})")

            try:
                result = run_training(
                    data,
                    out,
                    settings,
                    val_data=val_data,
                    report_data=report_data,
                    resume=resume,
                    device=device.value,
                    workers=workers,
                    on_step=on_step,
                )
            except TrainingStopped as stop:
                import shlex

                again = [a for a in sys.argv[1:] if a != "--resume"] + ["--resume"]
                progress.stop()
                err_console.print(
                    f"[red]{stop}[/red]; continue with: vimss {shlex.join(again)}", highlight=False, soft_wrap=True
                )
                raise typer.Exit(
                    130 if isinstance(stop.cause, KeyboardInterrupt) else 128 + stop.cause.signum
                ) from None
        if rank == 0:
            scored = (
                f"instruments named exactly in {result.exact_sets:.1f} % of the validation mixtures"
                if settings.model.architecture == "recognizer"
                else f"validation SI-SDR {result.si_sdr:.2f} dB ({result.si_sdri:+.2f} dB over the mix)"
            )
            out_console.print(
                f"step {settings.steps}: {scored}; checkpoints in {out}/latest and {out}/best", highlight=False
            )
