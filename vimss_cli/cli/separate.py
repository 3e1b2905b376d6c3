"""`vimss separate`: inputs (files or folders) to one stem file per instrument, through `separate_media`."""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress

from ..constants import DEFAULT_SEGMENT, WIENER_ITERATIONS
from ..errors import VimssError

if TYPE_CHECKING:  # the commands import what they run when they run
    from ..boxes import Box
    from ..instruments import LineUp
    from ..nets.checkpoints import LoadedRecognizer, LoadedSplitter
    from ..nets.recognizer import InstrumentRecognizer
    from ..separator import Separator
    from ..video.players import Detector
from .options import (
    BitDepth,
    ClipMode,
    DetectorOption,
    DeviceChoice,
    DeviceOption,
    OutputFormat,
    PlayerLayout,
    RecognizerOption,
    SplitterOption,
    TrackProgress,
    TrustPickleOption,
    WienerOption,
    command,
    err_console,
    out_console,
    print_error,
    progress_bar,
    quiet_hub_logs,
    unexpected,
    user_errors,
    warn,
)


def _stems_to_write(
    chosen: LineUp, stems: str | None, two_stems: str | None, residual: bool
) -> tuple[list[str] | None, str | None]:
    """--stems as stem names (None: all; with --residual the residual too) and --two-stems as an
    instrument; one instrument named alone is separated as --two-stems (else the whole mix
    would go into it)."""
    from ..instruments import parse_instruments

    if stems is not None and two_stems is not None:
        raise VimssError("--two-stems writes one instrument and the rest; it does not combine with --stems")

    def names(word: str) -> list[str]:
        """A stem's name (vn1, residual) as it is; an instrument's as its stems' (vn: vn1 and vn2 when two play)."""
        if word == "residual" or word in chosen.abbrs:
            return [word]
        abbr = parse_instruments(word)[0].abbr
        players = [n for n, c in zip(chosen.abbrs, chosen.classes) if c == abbr]
        return players if len(players) > 1 else [abbr]

    picked = [w.strip() for w in stems.split(",") if w.strip()] if stems is not None else None
    written = None if picked is None else [n for w in picked for n in names(w)]
    if written is not None and residual and "residual" not in written:
        written.append("residual")
    alone = None
    if two_stems:
        [alone, *more] = names(two_stems)
        if more:
            raise VimssError(f"--two-stems {two_stems}: two players of it play; name one ({', '.join([alone, *more])})")
    if alone is None and len(chosen) == 1 and stems is None:
        alone = chosen.abbrs[0]
        warn(
            f"only {alone} is named: the whole mix would go into it, so {alone} and no_{alone} (the rest) are "
            f"written, as --two-stems {alone}; name every instrument that plays for a stem each"
        )
    return written, alone


@dataclass
class _SeparateJob:
    """What every input of one `vimss separate` shares, and how one input is separated."""

    separator: Separator
    chosen: LineUp | None
    """The instruments named with -i; None: each input's are heard."""
    recognizer: InstrumentRecognizer | None
    """Hears each input: its instruments when none are named, else a check of the named ones."""
    find_detector: Callable[[], Detector]
    boxes: list[Box] | None
    layout: str
    save_boxes: Path | None
    writing: dict[str, Any]
    """separate_media's output options: format, bit depth, clip mode, own folder."""
    choice: tuple[str | None, str | None, bool]
    """--stems, --two-stems and --residual, as given."""

    def line_up(self, path: Path, many: bool) -> tuple[LineUp, dict[str, Any]]:
        """The instruments to separate in `path`, and what --json records of them; printed when
        heard, and the named ones checked against what is heard."""
        from ..recognition import hear_file

        if self.recognizer is None:
            assert self.chosen is not None, "without -i a recogniser is loaded"
            return self.chosen, {"instruments": self.chosen.classes}
        heard = hear_file(self.recognizer, path)
        where = f" ({path.name})" if many else ""
        if self.chosen is None:
            err_console.print(f"heard: {', '.join(heard.line_up.abbrs)}{where}", highlight=False)
            return heard.line_up, heard.to_json()
        for doubt in heard.doubts(self.chosen):
            warn(f"{doubt}{where}")
        return self.chosen, {**heard.to_json(), "instruments": self.chosen.classes}

    def separate(
        self, path: Path, out_dir: Path, stem_name: str, progress: Progress, chosen: LineUp
    ) -> dict[str, Path]:
        from ..media import separate_media

        track = TrackProgress(progress, path.name)
        written, alone = _stems_to_write(chosen, *self.choice)
        return separate_media(
            self.separator,
            path,
            out_dir,
            chosen,
            detector=self.find_detector,
            boxes=self.boxes,
            layout=self.layout,
            save_boxes=self.save_boxes,
            on_warning=warn,
            on_start=track.start,
            on_progress=track.advance,
            filename=stem_name,
            stems=written,
            two_stems=alone,
            **self.writing,
        )


@command()
def separate(
    inputs: Annotated[
        list[Path], typer.Argument(help="Audio or video files, or folders of them, to separate.", show_default=False)
    ],
    instruments: Annotated[
        str | None,
        typer.Option(
            "--instruments",
            "-i",
            help="Instruments that play, e.g. vn,va,vc or violin,cello (default: those the recogniser hears).",
        ),
    ] = None,
    recognizer: RecognizerOption = None,
    splitter: SplitterOption = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="Local folder, bundled model name, or Hub repo org/name[@rev] (default: vimss-labels, "
            "for videos too; -m vimss-visual reads the players).",
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
    bit_depth: Annotated[
        BitDepth | None, typer.Option("--bit-depth", help="16 (default), 24 or 32f (float, wav only); not for mp3.")
    ] = None,
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
    """Separate INPUT files (audio, or video with its players) into one stem per instrument (named or heard)."""
    with user_errors(as_json):
        import torch

        from ..boxes import parse_boxes
        from ..devices import move_to_device
        from ..dsp.audio import check_output_format
        from ..instruments import LineUp
        from ..nets.checkpoints import load_model
        from ..separator import Separator
        from ..video.detector import load_detector

        quiet_hub_logs()
        _refuse_flag_values(inputs)
        inputs = expand_folders(inputs, out)
        chosen = LineUp.of(instruments) if instruments is not None else None
        if fmt == OutputFormat.mp3 and bit_depth is not None:
            raise VimssError("--bit-depth does not apply to mp3 (a lossy format has none); it is for wav and flac")
        depth = (bit_depth or BitDepth.b16).value
        check_output_format(fmt.value, depth)
        if chosen is not None:  # refused once, before anything runs
            _stems_to_write(chosen, stems, two_stems, residual)
        places = _output_places(inputs, out, filename)
        loaded = load_model(model)  # one model for every input, videos too (the README says why)
        dev = move_to_device(loaded, device.value)
        split = _splitter(splitter, chosen)
        separator = Separator(
            loaded.model,
            dev,
            segment=segment,
            overlap=overlap,
            batch_size=batch_size,
            wiener_iterations=wiener_iterations,
            residual=residual,
            splitter=split.model if split is not None else None,
        )
        if chosen is not None and chosen.pairs:  # refused once, before anything runs
            separator.check_players(chosen)
        hearing = _recognizer(recognizer, needed=chosen is None)
        if hearing is not None:
            hearing.model.to(dev)
        summary: dict[str, Any] = {"model": loaded.name, "source": loaded.source, "device": str(dev), "tracks": []}
        if hearing is not None:
            summary["recognizer"] = hearing.name
        if split is not None:
            summary["splitter"] = split.name
        job = _SeparateJob(
            separator,
            chosen,
            hearing.model if hearing is not None else None,
            find_detector=functools.cache(lambda: load_detector(detector, trust_pickle=trust_pickle)),
            boxes=parse_boxes(boxes) if boxes is not None else None,
            layout=layout.value,
            save_boxes=save_boxes,
            writing={
                "fmt": fmt.value,
                "bit_depth": depth,
                "clip_mode": clip_mode.value,
                "own_folder": any(f in os.path.dirname(filename) for f in ("{track}", "{trackext}")),
            },
            choice=(stems, two_stems, residual),
        )
        failed = 0
        show = not as_json and sys.stderr.isatty()
        for path, (relative, stem_name) in places.items():
            out_dir = out / loaded.name / relative
            started = time.perf_counter()
            with progress_bar(show) as progress:
                try:
                    line_up, heard = job.line_up(path, len(places) > 1)
                    paths = job.separate(path, out_dir, stem_name, progress, line_up)
                except Exception as err:  # one bad input never stops the others
                    failed += 1
                    message = str(err) if isinstance(err, VimssError) else f"{path}: {unexpected(err)}"
                    print_error(message)
                    summary["tracks"].append({"input": str(path), "error": message})
                    continue
            elapsed = time.perf_counter() - started
            track = {
                "input": str(path),
                **heard,
                "seconds": round(elapsed, 3),
                "stems": {k: str(v) for k, v in paths.items()},
            }
            if dev.type == "cuda":  # what the benchmarks report as GPU memory
                track["gpu_peak_mb"] = round(torch.cuda.max_memory_allocated(dev) / 2**20)
            summary["tracks"].append(track)
            if not as_json:
                out_console.print(f"{path} -> {out_dir}/ ({', '.join(paths)}) in {elapsed:.1f} s", highlight=False)
        if as_json:
            print(json.dumps(summary, indent=2))
        if failed:
            if len(places) > 1:
                print_error(f"{failed} of {len(places)} inputs failed")
            raise typer.Exit(1)


def _splitter(spec: str | None, chosen: LineUp | None) -> LoadedSplitter | None:
    """The player splitter --splitter names, or the bundled one when -i names an instrument twice."""
    from ..nets.checkpoints import load_splitter

    if spec is not None and spec.lower() == "none":
        return None
    return load_splitter(spec) if spec is not None or (chosen is not None and chosen.pairs) else None


def _recognizer(spec: str | None, needed: bool) -> LoadedRecognizer | None:
    """The recogniser --recognizer names, if any: it hears the instruments when -i is not given,
    and checks the named ones when it is. None is used unless asked for: the bundled one names
    the exact set of too few held-out pieces to stand in for -i by default (the README's numbers)."""
    from ..nets.checkpoints import DEFAULT_RECOGNIZER, load_recognizer

    if spec is None or spec.lower() == "none":
        if needed:
            raise VimssError(
                "name the instruments that play with -i (e.g. -i vn,va,vc), or let a recogniser hear them: "
                f"--recognizer {DEFAULT_RECOGNIZER} (experimental)"
            )
        return None
    return load_recognizer(spec)


FLAG_WORDS = {"true", "false", "yes", "no", "on", "off", "1", "0"}


def _refuse_flag_values(inputs: list[Path]) -> None:
    """`--residual true` makes "true" an input: a flag takes no value, and that is said first."""
    for path in inputs:
        if str(path).lower() in FLAG_WORDS and not path.exists():
            raise VimssError(f"'{path}' is no input: flags such as --residual or --json take no value")


def expand_folders(inputs: list[Path], out: Path) -> list[Path]:
    """Folders given as inputs stand for every audio or video file in them (recursively, sorted),
    but for what vimss wrote: the output root and every folder with a stems manifest."""
    from ..dsp.audio import INPUT_EXTENSIONS
    from ..stems import MANIFEST

    files: list[Path] = []
    root = out.resolve()
    for path in inputs:
        if not path.is_dir():
            files.append(path)
            continue
        found = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and p.suffix.lower() in INPUT_EXTENSIONS
            and not p.name.startswith(".")
            and not p.resolve().is_relative_to(root)
            and not (p.parent / MANIFEST).is_file()
        )
        if not found:
            raise VimssError(f"{path} holds no audio or video file ({', '.join(INPUT_EXTENSIONS)})")
        files += found
    return files


TEMPLATES = ("{parent}-{track}/{stem}.{ext}", "{parent}-{trackext}/{stem}.{ext}", "{trackext}/{stem}.{ext}")
"""Templates the same-name error may suggest, the first that tells the inputs apart."""


def _output_places(inputs: list[Path], out: Path, template: str) -> dict[Path, tuple[Path, str]]:
    """Each input's stem folder (under <out>/<model>/) and stem file pattern from --filename; a
    template that leaves the output root, or two inputs that would write the same stems, are
    errors (the latter naming a template that tells them apart)."""
    places = _places(inputs, template)
    for relative, _ in places.values():
        if relative.is_absolute() or ".." in relative.parts:
            raise VimssError(f"--filename '{template}' writes outside --out ({relative}); keep it under it")
    seen: dict[Path, Path] = {}
    for path, (relative, name) in places.items():
        target = relative / name
        if target in seen:
            works = next((t for t in TEMPLATES if _distinct(inputs, t)), None)
            hint = f"give --filename '{works}'" if works else "separate them in two runs or with their own --out"
            raise VimssError(f"{seen[target]} and {path} would write the same stems ({out / relative}); {hint}")
        seen[target] = path
    return places


def _places(inputs: list[Path], template: str) -> dict[Path, tuple[Path, str]]:
    places: dict[Path, tuple[Path, str]] = {}
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
        target = Path(relative)
        places[path] = (target.parent, target.name)
    return places


def _distinct(inputs: list[Path], template: str) -> bool:
    targets = [relative / name for relative, name in _places(inputs, template).values()]
    return len(set(targets)) == len(targets)
