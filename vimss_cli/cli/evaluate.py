"""`vimss evaluate`: models, oracles and the input mix scored on URMP-layout pieces."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ..constants import MIN_SEGMENT, WIENER_ITERATIONS
from ..errors import VimssError, counted

if TYPE_CHECKING:  # the commands import what they run when they run
    import torch

    from ..evaluation.scoring import PieceAudio
from .options import (
    DetectorOption,
    DeviceChoice,
    DeviceOption,
    SplitterOption,
    TrustPickleOption,
    WienerOption,
    command,
    err_console,
    out_console,
    progress_bar,
    quiet_hub_logs,
    user_errors,
    warn,
)


@command()
def evaluate(
    data: Annotated[Path, typer.Argument(help="Folder of URMP-layout pieces (real URMP or `vimss synth`).")],
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Model to score; repeat to compare several.")
    ] = None,
    segment: Annotated[
        float | None,
        typer.Option(help="Score segments of this many seconds (the paper: 5.94) instead of whole pieces."),
    ] = None,
    oracles: Annotated[bool, typer.Option(help="Add the IRM and IBM oracles and the input mix.")] = True,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where results.csv/json and box plots go.")] = Path(
        "evaluation"
    ),
    device: DeviceOption = DeviceChoice.auto,
    wiener_iterations: WienerOption = WIENER_ITERATIONS,
    workers: Annotated[int, typer.Option(help="Processes computing metrics.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
    detector: DetectorOption = None,
    trust_pickle: TrustPickleOption = False,
    splitter: SplitterOption = None,
) -> None:
    """Score models, oracles and the input mix on URMP-layout pieces (visual models use each piece's video).

    Pieces in which two players play one instrument are scored per player too (rows vn1, vn2:
    AuSep's first, the upper part, and second), the players parted by the splitter (default:
    the bundled one; --splitter none scores each player against half the instrument's stem)."""
    with user_errors(as_json):
        from ..devices import move_to_device
        from ..evaluation.scoring import ORACLES, compare, model_estimates, oracle_estimates, summarise, write_reports
        from ..evaluation.scoring import evaluate as run_evaluation
        from ..evaluation.urmp import urmp_pieces
        from ..nets.checkpoints import DEFAULT_SPLITTER, bundled_models, load_model, load_splitter
        from ..separator import Separator
        from ..training.data import manifest_boxes
        from ..video.detector import load_detector
        from ..video.players import PlayerTrack, video_players

        quiet_hub_logs()
        if segment is not None and not segment >= MIN_SEGMENT:
            raise VimssError(f"--segment must be at least {MIN_SEGMENT:g} s, got {segment:g}")
        if workers < 1:
            raise VimssError(f"--workers must be at least 1, got {workers}")
        pieces, skipped = urmp_pieces(data)
        known = manifest_boxes([data])
        find_detector = functools.cache(lambda: load_detector(detector, trust_pickle=trust_pickle))

        def players(video: Path, count: int) -> PlayerTrack:
            return video_players(video, count, known, find_detector, on_warning=warn)

        estimators: dict[str, Callable[[PieceAudio], torch.Tensor]] = {}
        doubled = any(len(paths) > 1 for piece in pieces for paths in piece.sources.values())
        wanted = splitter is not None or DEFAULT_SPLITTER in bundled_models()
        parts = doubled and model and wanted and (splitter or "").lower() != "none"
        split = load_splitter(splitter).model if parts else None
        for spec in model or []:
            loaded = load_model(spec)
            dev = move_to_device(loaded, device.value)
            separator = Separator(loaded.model, dev, wiener_iterations=wiener_iterations, splitter=split)
            estimators[loaded.name] = functools.partial(model_estimates, separator, players=players)
        if oracles:
            estimators.update({k: functools.partial(oracle_estimates, k) for k in ORACLES})
        if not estimators:
            raise VimssError("nothing to evaluate: pass --model or keep --oracles")
        for note in skipped:
            err_console.print(f"skipped {note}", highlight=False)
        with progress_bar(not as_json and sys.stderr.isatty()) as progress:
            task = progress.add_task("evaluating", total=len(pieces))
            unreadable: list[str] = []

            def skip(note: str) -> None:
                unreadable.append(note)
                progress.console.print(f"skipped {note}", highlight=False, soft_wrap=True)

            rows = run_evaluation(
                pieces,
                estimators,
                segment=segment,
                workers=workers,
                on_piece=lambda _: progress.advance(task),
                on_skip=skip,
            )
            skipped = [*skipped, *unreadable]
        if not rows:
            raise VimssError(f"no piece of {data} could be read")
        names = list(estimators)
        models_only = [n for n in names if n not in ORACLES]
        comparisons = {
            f"{b} - {a}": compare(rows, a, b) for i, a in enumerate(models_only) for b in models_only[i + 1 :]
        }
        files = write_reports(rows, out, comparisons, skipped)
        summary = summarise(rows)
        if as_json:
            print(
                json.dumps(
                    {"summary": summary, "comparisons": comparisons, "files": [str(f) for f in files]},
                    indent=2,
                    default=float,
                ).replace("NaN", "null")
            )
            return
        _print_evaluation(names, summary, comparisons, files, len(pieces))


def _print_evaluation(
    names: list[str],
    summary: dict[str, dict[str, dict[str, float]]],
    comparisons: dict[str, dict[str, dict[str, float]]],
    files: list[Path],
    pieces: int,
) -> None:
    """`vimss evaluate`'s table (every method's mean metrics), the paired comparisons and the files written."""
    table = Table("method", "SI-SDR", "SD-SDR", "PES", "EPS", "SDR", "SIR", "SAR", title=counted(pieces, "piece"))
    for name in names:
        table.add_row(name, *(_fmt(summary[name][m]) for m in ("si_sdr", "sd_sdr", "pes", "eps", "sdr", "sir", "sar")))
    out_console.print(table)
    for title, compared in comparisons.items():
        differences = (
            f"{m} {v['mean_difference']:+.2f} dB (p={v['p_value']:.3g})" for m, v in compared.items() if v["n"]
        )
        out_console.print(f"{title}: " + ", ".join(differences), highlight=False)
    out_console.print(f"wrote {', '.join(str(f) for f in files)}", highlight=False)


def _fmt(stat: dict[str, float]) -> str:
    return "–" if not stat["n"] else f"{stat['mean']:.2f} ± {stat['std']:.2f}"
