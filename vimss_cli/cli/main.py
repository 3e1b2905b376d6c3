"""The `vimss` command line: parses options, calls the Python API, prints results.

Every user-facing problem arrives as a `VimssError` and leaves as one line on stderr
with exit code 1; nothing here does separation work itself.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from typer._click.core import Context  # typer vendors click: its commands take this Context
from typer.core import TyperCommand, TyperOption

from ..constants import DEFAULT_SEGMENT, WIENER_ITERATIONS
from ..errors import Terminated, TrainingStopped, VimssError, one_line

if TYPE_CHECKING:  # the commands import what they run when they run
    import torch

    from ..boxes import Box
    from ..evaluation.scoring import PieceAudio
    from ..instruments import LineUp
    from ..separator import Separator
    from ..video.players import Detector


class VimssCommand(TyperCommand):
    """Help as a user reads it: flags without a `<bool>` value, usage as INPUTS... not {inputs}...."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if getattr(param, "is_flag", False):
                param.metavar = ""

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        return [
            re.sub(r"\{(\w+)\}", lambda m: m.group(1).upper(), piece) for piece in super().collect_usage_pieces(ctx)
        ]


app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="VIMSS: separate chamber-music recordings and videos into one stem per instrument.",
)
command = functools.partial(app.command, cls=VimssCommand)


@app.callback(invoke_without_command=True)
def _top(
    ctx: Context,
    show_version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", metavar="")] = False,
    list_models: Annotated[
        bool, typer.Option("--list-models", help="List the models (as `vimss models`).", metavar="")
    ] = False,
) -> None:
    """VIMSS: separate chamber-music recordings and videos into one stem per instrument."""
    if show_version:
        from .. import __version__

        out_console.print(f"vimss {__version__}", highlight=False)
        raise typer.Exit()
    if list_models:
        models(as_json=False)
        raise typer.Exit()
    if ctx.invoked_subcommand is None:
        out_console.print(ctx.get_help(), highlight=False)
        raise typer.Exit()


err_console = Console(stderr=True)
out_console = Console(width=None if sys.stdout.isatty() else 200)
"""Piped output (a file, another program) is not cut to 80 columns."""


class PlayerLayout(StrEnum):
    detect = "detect"
    strips = "strips"


class OutputFormat(StrEnum):
    wav = "wav"
    flac = "flac"
    mp3 = "mp3"


class BitDepth(StrEnum):
    b16 = "16"
    b24 = "24"
    b32f = "32f"


class ClipMode(StrEnum):
    rescale = "rescale"
    clamp = "clamp"


class DeviceChoice(StrEnum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


# Options `separate`, `evaluate` (and `train`, for the device) declare alike.
DeviceOption = Annotated[
    DeviceChoice, typer.Option("--device", "-d", help="Where the network runs (auto: a GPU if any).")
]
WienerOption = Annotated[
    int,
    typer.Option(
        "--wiener-iterations", help="norbert Wiener EM iterations; 0 applies the masks directly (the paper used 2)."
    ),
]
DetectorOption = Annotated[
    Path | None,
    typer.Option(
        help="Video: detector folder, or YOLO .pt with --trust-pickle (default: COCO persons, else bundled); "
        "evaluate uses it for pieces without recorded boxes."
    ),
]
TrustPickleOption = Annotated[
    bool, typer.Option("--trust-pickle", help="Allow a .pt --detector: it is a pickle and runs code when loaded.")
]


def warn(message: str) -> None:
    """A warning line on stderr: the run goes on."""
    err_console.print(f"[yellow]warning:[/yellow] {message}", highlight=False, soft_wrap=True)


def print_error(err: BaseException) -> None:
    """The one-line form every user-facing error takes on stderr."""
    err_console.print(f"[red]error:[/red] {err}", highlight=False, soft_wrap=True)


@contextmanager
def user_errors(as_json: bool = False) -> Iterator[None]:
    """Turn errors into one line and exit code 1 (a traceback only with VIMSS_DEBUG=1);
    with `as_json`, a fatal error is also printed on stdout as {"error": ...}."""
    try:
        yield
    except VimssError as err:
        print_error(err)
        if as_json:
            print(json.dumps({"error": str(err)}))
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/red]")
        raise typer.Exit(130) from None
    except Terminated as stop:
        import signal

        err_console.print(f"[red]stopped by {signal.Signals(stop.signum).name}[/red]")
        raise typer.Exit(128 + stop.signum) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as err:
        if os.environ.get("VIMSS_DEBUG"):
            raise
        text = one_line(err)
        err_console.print(
            f"[red]error:[/red] unexpected {type(err).__name__}: {text} (set VIMSS_DEBUG=1 for details)",
            highlight=False,
            soft_wrap=True,
        )
        if as_json:
            print(json.dumps({"error": f"unexpected {type(err).__name__}: {text}"}))
        raise typer.Exit(1) from None


def _quiet_hub_logs() -> None:
    """huggingface_hub logs each retry; the CLI reports a failed download in one line."""
    from huggingface_hub.utils import logging as hf_logging

    hf_logging.set_verbosity_error()


def _stems_to_write(chosen: LineUp, stems: str | None, two_stems: str | None) -> tuple[list[str] | None, str | None]:
    """--stems as stem names (None: all) and --two-stems as an instrument; one instrument
    named alone is separated as --two-stems (else the whole mix would go into it)."""
    from ..instruments import parse_instruments

    picked = [w.strip() for w in stems.split(",") if w.strip()] if stems is not None else None
    written = None if picked is None else [w if w == "residual" else parse_instruments(w)[0].abbr for w in picked]
    alone = parse_instruments(two_stems)[0].abbr if two_stems else None
    if alone is None and len(chosen) == 1 and stems is None:
        alone = chosen.abbrs[0]
        warn(
            f"only {alone} is named: the whole mix would go into it, so {alone} and no_{alone} (the rest) are "
            f"written, as --two-stems {alone}; name every instrument that plays for a stem each"
        )
    return written, alone


def _set_total(progress: Progress, task: TaskID, total: int) -> None:
    progress.update(task, total=total)


def _set_completed(progress: Progress, task: TaskID, completed: int) -> None:
    progress.update(task, completed=completed)


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not enabled,
        transient=True,
    )


@dataclass
class _SeparateJob:
    """What every input of one `vimss separate` shares, and how one input is separated."""

    separator: Separator
    chosen: LineUp
    find_detector: Callable[[], Detector]
    boxes: list[Box] | None
    layout: str
    save_boxes: Path | None
    writing: dict[str, Any]
    """separate_media's output options: format, bit depth, clip mode, stems, two-stems, own folder."""

    def separate(self, path: Path, out_dir: Path, stem_name: str, progress: Progress) -> dict[str, Path]:
        from ..media import separate_media

        task = progress.add_task(path.name, total=None)
        return separate_media(
            self.separator,
            path,
            out_dir,
            self.chosen,
            detector=self.find_detector,
            boxes=self.boxes,
            layout=self.layout,
            save_boxes=self.save_boxes,
            on_warning=warn,
            on_start=functools.partial(_set_total, progress, task),
            on_progress=functools.partial(_set_completed, progress, task),
            filename=stem_name,
            **self.writing,
        )


@command()
def separate(
    inputs: Annotated[
        list[Path], typer.Argument(help="Audio or video files, or folders of them, to separate.", show_default=False)
    ],
    instruments: Annotated[
        str, typer.Option("--instruments", "-i", help="Instruments that play, e.g. vn,va,vc or violin,cello.")
    ],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Local folder, bundled model name, or Hub repo org/name[@rev] "
            "(default: vimss-labels; vimss-visual when every input is a video).",
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output root: stems go to <out>/<model>/<--filename>.")
    ] = Path("separated"),
    filename: Annotated[
        str,
        typer.Option(
            help="Each stem's path under <out>/<model>/: {track} (input name without extension), {trackext} "
            "(with it), {parent} (the input's folder name), {stem}, {ext}."
        ),
    ] = "{track}/{stem}.{ext}",
    device: DeviceOption = DeviceChoice.auto,
    wiener_iterations: WienerOption = WIENER_ITERATIONS,
    segment: Annotated[
        float,
        typer.Option(
            help=f"Segment length in seconds (default {DEFAULT_SEGMENT:.3f}: the training length; "
            "at most the input's).",
            show_default=f"{DEFAULT_SEGMENT:.3f}",
        ),
    ] = DEFAULT_SEGMENT,
    overlap: Annotated[float, typer.Option(help="Overlap between segments in seconds (cross-faded).")] = 0.5,
    batch_size: Annotated[int, typer.Option(help="Segments per network call.")] = 2,
    residual: Annotated[bool, typer.Option("--residual", help="Also write the input minus all stems.")] = False,
    stems: Annotated[
        str | None, typer.Option(help="Which of the instruments that play to write, e.g. vn,vc (default: all).")
    ] = None,
    two_stems: Annotated[
        str | None, typer.Option(help="Write only this instrument and no_<it> (the rest), as Demucs' --two-stems.")
    ] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output file format.")] = OutputFormat.wav,
    bit_depth: Annotated[BitDepth, typer.Option("--bit-depth", help="16, 24 or 32f (float, wav only).")] = BitDepth.b16,
    clip_mode: Annotated[
        ClipMode, typer.Option(help="Input beyond full scale, integer output: rescale the stems to fit, or clamp them.")
    ] = ClipMode.rescale,
    as_json: Annotated[bool, typer.Option("--json", help="Print a machine-readable summary on stdout.")] = False,
    detector: DetectorOption = None,
    trust_pickle: TrustPickleOption = False,
    boxes: Annotated[
        str | None, typer.Option(help='Video: player boxes "x1,y1,x2,y2;..." left to right, instead of detection.')
    ] = None,
    layout: Annotated[
        PlayerLayout,
        typer.Option(
            help="Video: detect the players (equal strips, with a warning, when their number differs from "
            "--instruments'), or strips: equal vertical strips without detection (URMP's composites)."
        ),
    ] = PlayerLayout.detect,
    save_boxes: Annotated[
        Path | None, typer.Option(help="Video: write the first frame with each player's box and instrument (PNG).")
    ] = None,
) -> None:
    """Separate INPUT files (audio, or video with its players) into one stem per given instrument."""
    with user_errors(as_json):
        import torch

        from ..boxes import parse_boxes
        from ..devices import move_to_device
        from ..dsp.audio import check_output_format
        from ..instruments import LineUp
        from ..nets.checkpoints import load_model
        from ..separator import Separator
        from ..video.detector import load_detector
        from ..video.frames import has_video

        _quiet_hub_logs()
        inputs = _expand_folders(inputs)
        chosen = LineUp.of(instruments)
        check_output_format(fmt.value, bit_depth.value)
        written, alone = _stems_to_write(chosen, stems, two_stems)
        loaded = load_model(model, video=bool(inputs) and all(has_video(p) for p in inputs))
        dev = move_to_device(loaded, device.value)
        separator = Separator(
            loaded.model,
            dev,
            segment=segment,
            overlap=overlap,
            batch_size=batch_size,
            wiener_iterations=wiener_iterations,
            residual=residual,
        )
        summary: dict[str, Any] = {"model": loaded.name, "source": loaded.source, "device": str(dev), "tracks": []}
        job = _SeparateJob(
            separator,
            chosen,
            find_detector=functools.cache(lambda: load_detector(detector, trust_pickle=trust_pickle)),
            boxes=parse_boxes(boxes) if boxes is not None else None,
            layout=layout.value,
            save_boxes=save_boxes,
            writing={
                "fmt": fmt.value,
                "bit_depth": bit_depth.value,
                "clip_mode": clip_mode.value,
                "stems": written,
                "two_stems": alone,
                "own_folder": any(f in os.path.dirname(filename) for f in ("{track}", "{trackext}")),
            },
        )
        failed = False
        show = not as_json and sys.stderr.isatty()
        for path, (out_dir, stem_name) in _output_places(inputs, out / loaded.name, filename).items():
            started = time.perf_counter()
            with _progress(show) as progress:
                try:
                    paths = job.separate(path, out_dir, stem_name, progress)
                except VimssError as err:
                    failed = True
                    print_error(err)
                    summary["tracks"].append({"input": str(path), "error": str(err)})
                    continue
            elapsed = time.perf_counter() - started
            track = {"input": str(path), "seconds": round(elapsed, 3), "stems": {k: str(v) for k, v in paths.items()}}
            if dev.type == "cuda":  # what the benchmarks report as GPU memory
                track["gpu_peak_mb"] = round(torch.cuda.max_memory_allocated(dev) / 2**20)
            summary["tracks"].append(track)
            if not as_json:
                out_console.print(f"{path} -> {out_dir}/ ({', '.join(paths)}) in {elapsed:.1f} s", highlight=False)
        if as_json:
            print(json.dumps(summary, indent=2))
        if failed:
            raise typer.Exit(1)


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
) -> None:
    """Score models, oracles and the input mix on URMP-layout pieces (visual models use each piece's video)."""
    with user_errors(as_json):
        from ..devices import move_to_device
        from ..evaluation.scoring import ORACLES, compare, model_estimates, oracle_estimates, summarise, write_reports
        from ..evaluation.scoring import evaluate as run_evaluation
        from ..evaluation.urmp import urmp_pieces
        from ..nets.checkpoints import load_model
        from ..separator import Separator
        from ..training.data import manifest_boxes
        from ..video.detector import load_detector
        from ..video.players import PlayerTrack, video_players

        _quiet_hub_logs()
        pieces, skipped = urmp_pieces(data)
        known = manifest_boxes([data])
        find_detector = functools.cache(lambda: load_detector(detector, trust_pickle=trust_pickle))

        def players(video: Path, count: int) -> PlayerTrack:
            return video_players(video, count, known, find_detector, on_warning=warn)

        estimators: dict[str, Callable[[PieceAudio], torch.Tensor]] = {}
        for spec in model or []:
            loaded = load_model(spec)
            dev = move_to_device(loaded, device.value)
            separator = Separator(loaded.model, dev, wiener_iterations=wiener_iterations)
            estimators[loaded.name] = functools.partial(model_estimates, separator, players=players)
        if oracles:
            estimators.update({k: functools.partial(oracle_estimates, k) for k in ORACLES})
        if not estimators:
            raise VimssError("nothing to evaluate: pass --model or keep --oracles")
        for note in skipped:
            err_console.print(f"skipped {note}", highlight=False)
        with _progress(not as_json and sys.stderr.isatty()) as progress:
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
    table = Table("method", "SI-SDR", "SD-SDR", "PES", "EPS", "SDR", "SIR", "SAR", title=f"{pieces} pieces")
    for name in names:
        table.add_row(name, *(_fmt(summary[name][m]) for m in ("si_sdr", "sd_sdr", "pes", "eps", "sdr", "sir", "sar")))
    out_console.print(table)
    for title, compared in comparisons.items():
        differences = (
            f"{m} {v['mean_difference']:+.2f} dB (p={v['p_value']:.3g})" for m, v in compared.items() if v["n"]
        )
        out_console.print(f"{title}: " + ", ".join(differences), highlight=False)
    out_console.print(f"wrote {', '.join(str(f) for f in files)}", highlight=False)


def _expand_folders(inputs: list[Path]) -> list[Path]:
    """Folders given as inputs stand for every audio or video file in them (recursively, sorted)."""
    from ..dsp.audio import INPUT_EXTENSIONS

    files: list[Path] = []
    for path in inputs:
        if not path.is_dir():
            files.append(path)
            continue
        found = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and p.suffix.lower() in INPUT_EXTENSIONS and not p.name.startswith(".")
        )
        if not found:
            raise VimssError(f"{path} holds no audio or video file ({', '.join(INPUT_EXTENSIONS)})")
        files += found
    return files


def _output_places(inputs: list[Path], root: Path, template: str) -> dict[Path, tuple[Path, str]]:
    """Each input's stem folder and stem file pattern from --filename; two inputs that
    would write the same stems are an error naming a template that tells them apart."""
    places: dict[Path, tuple[Path, str]] = {}
    seen: dict[Path, Path] = {}
    for path in inputs:
        try:
            relative = template.format(
                track=path.stem, trackext=path.name, parent=path.resolve().parent.name, stem="{stem}", ext="{ext}"
            )
        except (KeyError, IndexError, ValueError) as err:
            raise VimssError(
                f"--filename '{template}': unknown or malformed field ({err}); "
                "use {track}, {trackext}, {parent}, {stem}, {ext}"
            ) from None
        target = root / relative
        if target in seen and seen[target] != path:
            raise VimssError(
                f"{seen[target]} and {path} would write the same stems ({target.parent}); "
                "give --filename '{parent}-{track}/{stem}.{ext}'"
            )
        seen[target] = path
        places[path] = (target.parent, target.name)
    return places


def _fmt(stat: dict[str, float]) -> str:
    return "–" if not stat["n"] else f"{stat['mean']:.2f} ± {stat['std']:.2f}"


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


class Layout(StrEnum):
    solos = "solos"
    urmp = "urmp"


class Split(StrEnum):
    train = "train"
    test = "test"
    all = "all"


@command()
def synth(
    out: Annotated[Path, typer.Argument(help="Output folder (created; an existing one is resumed).")],
    layout: Annotated[
        Layout, typer.Option(help="solos: <Instrument>/<id>.flac; urmp: NN_Title_inst_inst/ piece folders.")
    ],
    scores: Annotated[
        list[Path] | None,
        typer.Option("--scores", help="MIDI/MusicXML files or folders (default: the music21 corpus)."),
    ] = None,
    pieces: Annotated[int | None, typer.Option(help="Number of items (scores excerpts) to render.")] = None,
    hours: Annotated[
        float | None, typer.Option(help="Hours of audio to render (mixes for urmp, recordings for solos).")
    ] = None,
    seconds: Annotated[float, typer.Option(help="Length of each excerpt before the 1-s release tail.")] = 30.0,
    soundfont: Annotated[
        list[Path] | None,
        typer.Option("--soundfont", help="SF2/SF3 soundfont; repeat to use several (default: all found)."),
    ] = None,
    split: Annotated[
        Split, typer.Option(help="Scores to draw from: a fixed 90% train / 10% test split, or all.")
    ] = Split.train,
    min_parts: Annotated[int, typer.Option(help="Fewest parts (sources) per item.")] = 2,
    max_parts: Annotated[int, typer.Option(help="Most parts (sources) per item.")] = 5,
    sample_rate: Annotated[int, typer.Option(help="Sample rate of the written audio.")] = 22050,
    seed: Annotated[int, typer.Option(help="Same seed and settings, same data.")] = 0,
    video: Annotated[
        bool, typer.Option(help="Also render videos of the players (URMP Vid_*.mp4; Solos: one per recording).")
    ] = False,
    workers: Annotated[int, typer.Option(help="Rendering processes.")] = 1,
    realism: Annotated[
        str,
        typer.Option(
            help="Realism steps: all, none, a comma list of vibrato, intonation, dynamics, timing, calibration, "
            "mixed-sets, room, eq, compression, noise, or -step to drop one from all."
        ),
    ] = "all",
    parse_limit: Annotated[
        float, typer.Option(help="Seconds allowed to read one score; a slower one is skipped (read scores are cached).")
    ] = 120.0,
) -> None:
    """Render multi-part scores into a Solos- or URMP-layout dataset with GM soundfonts."""
    with user_errors():
        from ..synth.dataset import SynthSettings, default_soundfonts, parse_realism, synthesize
        from ..synth.notation import corpus_scores, find_scores

        fonts = soundfont or default_soundfonts()
        settings = SynthSettings(
            layout.value,
            tuple(str(f) for f in fonts),
            sample_rate,
            seconds,
            min_parts,
            max_parts,
            split.value,
            seed,
            video,
            parse_realism(realism),
        )
        files = find_scores(scores) if scores else corpus_scores()
        with _progress(sys.stderr.isatty()) as progress:
            task = progress.add_task("rendering", total=1.0)
            summary = synthesize(
                out,
                files,
                settings,
                pieces=pieces,
                hours=hours,
                workers=workers,
                parse_limit=parse_limit,
                on_progress=lambda f: progress.update(task, completed=f),
                on_skip=lambda note: progress.console.print(f"skipped {note}", highlight=False, soft_wrap=True),
            )
        out_console.print(
            f"{summary.items} items ({summary.seconds / 3600:.2f} h of audio, {summary.rendered} rendered now) "
            f"in {out}; manifest: {summary.manifest}",
            highlight=False,
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
        from ..training.loop import run_config
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
        with _progress(rank == 0 and sys.stderr.isatty()) as progress:
            task = progress.add_task("training", total=settings.steps)

            def on_step(step: int, total: int, loss: float) -> None:
                progress.update(task, completed=step, description=f"training (loss {loss:.4f})")

            try:
                result = run_training(
                    data,
                    out,
                    settings,
                    val_data=val_data,
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
            out_console.print(
                f"step {settings.steps}: validation SI-SDR {result.si_sdr:.2f} dB "
                f"({result.si_sdri:+.2f} dB over the mix); checkpoints in {out}/latest and {out}/best",
                highlight=False,
            )


@command()
def models(as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False) -> None:
    """List bundled models and vimss models in the Hugging Face cache."""
    with user_errors(as_json):
        from ..nets.checkpoints import DEFAULT_MODEL, DEFAULT_VIDEO_MODEL, list_models

        entries = list_models()
        if as_json:
            print(json.dumps([asdict(e) for e in entries], indent=2))
            return
        if not entries:
            out_console.print("No models: none is bundled with this version and none is in the Hugging Face cache.")
            return
        table = Table("name", "source", "architecture", "conditioning", "path")
        default = {DEFAULT_MODEL: " (default)", DEFAULT_VIDEO_MODEL: " (default for videos)"}
        for e in entries:
            name = e.name + (default.get(e.name, "") if e.source == "bundled" else "")
            table.add_row(name, e.source, e.architecture, e.conditioning, e.path)
        out_console.print(table)


def _terminate(signum: int, _frame: object) -> None:
    raise Terminated(signum)


def main() -> None:
    import signal

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)
    app()


if __name__ == "__main__":
    main()
