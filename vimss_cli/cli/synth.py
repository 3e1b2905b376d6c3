"""`vimss synth`: scores rendered into a Solos- or URMP-layout data set."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the commands import what they run when they run
    pass
from ..errors import VimssError, counted
from .options import (
    Layout,
    Split,
    command,
    out_console,
    progress_bar,
    user_errors,
)


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
    doubled: Annotated[
        float,
        typer.Option(help="Share of items in which two neighbouring parts play one instrument (violin I and II)."),
    ] = 0.0,
    parse_limit: Annotated[
        float, typer.Option(help="Seconds allowed to read one score; a slower one is skipped (read scores are cached).")
    ] = 120.0,
) -> None:
    """Render multi-part scores into a Solos- or URMP-layout dataset with GM soundfonts."""
    with user_errors():
        if workers < 1:
            raise VimssError(f"--workers must be at least 1, got {workers}")
        from ..synth.dataset import synthesize
        from ..synth.notation import corpus_scores, find_scores
        from ..synth.settings import SynthSettings, default_soundfonts, parse_realism

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
            doubled,
        )
        files = find_scores(scores) if scores else corpus_scores()
        with progress_bar(sys.stderr.isatty()) as progress:
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
            f"{counted(summary.items, 'item')} ({summary.seconds / 3600:.2f} h of audio, "
            f"{summary.rendered} rendered now) in {out}; manifest: {summary.manifest}",
            highlight=False,
        )
