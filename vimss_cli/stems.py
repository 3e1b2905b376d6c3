"""Stems written to files: `separate_file` streams one input through a `Separator` into
`<out_dir>/<stem>.<fmt>`, atomically (every stem of a track, or none), with the output's
format, bit depth, clip handling and the choice of stems (`--stems`, `--two-stems`).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from . import atomic
from .constants import MIN_SEGMENT
from .dsp.audio import (
    CLIP_MODES,
    STEM_EXTENSIONS,
    AtomicAudioWriter,
    check_output_format,
    input_peak,
    open_audio,
    read_ahead,
)
from .errors import VimssError
from .instruments import Instrument, LineUp
from .separator import Separator, VisualSource

MANIFEST = ".vimss-stems.json"
"""What vimss wrote in a track's folder (the input, the stem files): a rerun removes those of its
stems the new run does not write, and never a file of the user's (a `db.wav` of their own)."""
NAMED_SHARE_WARNING = 0.6
"""`separate_file` warns when the named instruments' masks claim less of the input's energy
than this. Measured with vimss-labels: every player named, 0.75-0.99 (the duet example 0.75,
8 synthetic pieces of 3-5 players 0.87-0.99); one of 3-5 players left out, 0.30-0.96; two,
0.07-0.97; woodwinds or brass named for the duet's violin and cello, 0.36-0.42. So it
catches wrong or half-missing line-ups, not every missing player."""


def _write_stems(writers: list[AtomicAudioWriter], stems: np.ndarray) -> None:
    for writer, stem in zip(writers, stems):
        writer.write(stem)


def separate_file(
    separator: Separator,
    path: str | Path,
    out_dir: Path,
    instruments: LineUp | str | Sequence[str | Instrument],
    *,
    fmt: str = "wav",
    bit_depth: str = "16",
    on_start: Callable[[int | None], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    block_seconds: float = 30.0,
    visual: VisualSource | None = None,
    clip_mode: str = "rescale",
    on_warning: Callable[[str], None] | None = None,
    stems: list[str] | None = None,
    two_stems: str | None = None,
    filename: str = "{stem}.{ext}",
    own_folder: bool = True,
) -> dict[str, Path]:
    """Separate one file into `<out_dir>/<stem>.<fmt>`, streaming from input to output.

    Stems go to hidden temporary files and are renamed into place only when all are
    complete: an error leaves no partial output. The input is read once first: NaN or
    infinite samples are refused, and an input beyond full scale is, for integer output,
    scaled down to fit (`clip_mode` "rescale", as Demucs) or its stems clamped ("clamp");
    `on_warning` hears about either.

    `filename` names each stem inside `out_dir` ({stem}, {ext}); when `out_dir` is the
    track's `own_folder`, the stems an earlier run wrote there (its MANIFEST lists them) and
    this one does not are removed, and only those. An input shorter than MIN_SEGMENT is
    separated zero-padded to it.

    `instruments` are those that play; `stems` picks which of them (or "residual") to
    write. `two_stems` writes that instrument and `no_<it>` (the input minus it, so the
    two add up to the input), separating against a residual source: what the model does
    not hear as a named instrument stays out of the stem.
    """
    chosen = LineUp.of(instruments)
    check_output_format(fmt, bit_depth)
    if clip_mode not in CLIP_MODES:
        raise VimssError(f"unknown clip mode '{clip_mode}' (choose {' or '.join(CLIP_MODES)})")
    if two_stems is not None:
        separator = copy.copy(separator)
        separator.residual = True
    computed = separator.stem_names(chosen)
    pick = _stem_picker(computed, stems, two_stems)
    names = pick.names
    if "{stem}" not in filename:
        raise VimssError(f"--filename '{filename}' must contain {{stem}}, or every stem would get the same name")
    targets = [out_dir / filename.format(stem=name, ext=fmt) for name in names]
    warn = on_warning or (lambda message: None)
    peak = input_peak(path)
    gain = 1.0
    if peak > 1.0 and (bit_depth != "32f" or fmt == "mp3"):
        if clip_mode == "rescale":
            gain = 1.0 / peak
            warn(
                f"{Path(path).name} peaks at {peak:.2f}x full scale: its stems are scaled by "
                f"{20 * math.log10(gain):.1f} dB to fit {'mp3' if fmt == 'mp3' else bit_depth + '-bit'} output "
                "(--clip-mode clamp clips instead, --bit-depth 32f keeps the level)"
            )
        else:
            warn(
                f"{Path(path).name} peaks at {peak:.2f}x full scale: "
                "stems beyond full scale are clipped (--clip-mode clamp)"
            )

    def warn_unnamed(share: float) -> None:
        if share < NAMED_SHARE_WARNING and not separator.residual:
            warn(
                f"the named instruments ({','.join(chosen.abbrs)}) claim only {share:.0%} of {Path(path).name}'s "
                "sound: instruments not named seem to play, and their sound is spread over the named stems; "
                "name them with -i, or pass --residual to keep it apart"
            )

    with open_audio(path) as reader:
        info = reader.info
        if info.frames and separator.segment * info.sample_rate > info.frames:
            # A segment longer than the input would only pad it (1000 s for a 13-s file).
            separator = copy.copy(separator)
            separator.segment = max(MIN_SEGMENT, info.frames / info.sample_rate)
            separator.overlap = min(separator.overlap, separator.segment / 2)
        created = _make_folders(sorted({t.parent for t in targets}))
        writers: list[AtomicAudioWriter] = []
        try:
            for target in targets:
                writers.append(AtomicAudioWriter(target, info.sample_rate, info.channels, fmt, bit_depth))
            if on_start is not None:
                on_start(info.frames)
            blocks = read_ahead(reader.blocks(max(1, round(block_seconds * info.sample_rate))))
            if gain != 1.0:
                blocks = (block * np.float32(gain) for block in blocks)
            with ThreadPoolExecutor(max_workers=1) as pool:  # stems are written while the next block separates
                written: Future = pool.submit(lambda: None)
                stream = separator.stream(
                    blocks, info.sample_rate, chosen, on_progress, visual, on_named_share=warn_unnamed
                )
                for out in stream:
                    written.result()  # one block in flight at most
                    written = pool.submit(_write_stems, writers, pick(out).numpy())
                written.result()
            paths = {name: w.commit() for name, w in zip(names, writers)}
        except (OSError, RuntimeError) as err:  # soundfile's LibsndfileError is a RuntimeError
            why = _write_failure(out_dir, err)  # while the folder is there to ask about its disk
            _undo(writers, created)
            if isinstance(err, RuntimeError) and not isinstance(err, sf.LibsndfileError):
                raise
            raise VimssError(f"cannot write to {out_dir}: {why}") from None
        except BaseException:
            _undo(writers, created)
            raise
    clipped = sum(w.clipped for w in writers)
    if clipped:
        share = 100 * clipped / max(1, sum(w.samples for w in writers))
        warn(f"{clipped} stem samples ({share:.2g}%) were beyond full scale and clipped")
    if own_folder:
        _replace_earlier_stems(out_dir, Path(path), set(paths.values()))
    return paths


def _make_folders(folders: list[Path]) -> list[Path]:
    """Create the stem folders (and stale partial files of a killed run go); returns the folders
    this call created, deepest first, so a failure can take them away again."""
    created: list[Path] = []
    for folder in folders:
        missing = [p for p in [folder, *folder.parents] if not p.exists()]
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise VimssError(f"cannot create output folder {folder}: {err.strerror or err}") from None
        created += missing
        atomic.remove_stale_partials(folder)
    return created


def _undo(writers: list[AtomicAudioWriter], created: list[Path]) -> None:
    """A failed track leaves nothing: its temporary stems, and the folders made for them if empty."""
    for writer in writers:
        writer.discard()
    for folder in created:
        with contextlib.suppress(OSError):
            folder.rmdir()


@dataclass(frozen=True)
class _StemPicker:
    """Which of the computed stems are written, and how (a two-stems "no_<inst>" is the sum of the others)."""

    names: list[str]
    rows: list[int]
    complement: int | None

    def __call__(self, out: torch.Tensor) -> torch.Tensor:
        if self.complement is not None:
            keep = out[self.complement]
            return torch.stack([keep, out.sum(0) - keep])
        return out if len(self.rows) == out.shape[0] else out[self.rows]


def _stem_picker(computed: list[str], stems: list[str] | None, two_stems: str | None) -> _StemPicker:
    if two_stems is not None:
        if two_stems not in computed:
            raise VimssError(
                f"--two-stems {two_stems}: not among the instruments that play ({', '.join(computed[:-1])})"
            )
        return _StemPicker([two_stems, f"no_{two_stems}"], [], computed.index(two_stems))
    if stems is None:
        return _StemPicker(computed, list(range(len(computed))), None)
    unknown = [s for s in stems if s not in computed]
    if unknown:
        raise VimssError(f"--stems {unknown[0]}: not among the stems separated ({', '.join(computed)})")
    return _StemPicker(list(stems), [computed.index(s) for s in stems], None)


def _write_failure(folder: Path, err: BaseException) -> str:
    """Why writing failed, in words: libsndfile says only "System error" when the disk is full."""
    import errno
    import shutil

    if getattr(err, "errno", None) == errno.ENOSPC or shutil.disk_usage(folder).free < 1 << 20:
        return "no space left on device"
    return getattr(err, "strerror", None) or str(err)


def _replace_earlier_stems(folder: Path, source: Path, written: set[Path]) -> None:
    """The stems an earlier run listed in the folder's MANIFEST and this run did not write go
    (other instruments or formats), so the folder holds one separation that adds up to the
    input; files vimss did not write stay. Then the manifest lists this run's stems."""
    manifest = folder / MANIFEST
    try:
        earlier = json.loads(manifest.read_text()).get("stems", []) if manifest.is_file() else []
    except (OSError, ValueError):
        earlier = []
    for name in earlier:
        stale = folder / Path(name).name  # a name, never a path out of the folder
        if stale not in written and stale.suffix.lstrip(".") in STEM_EXTENSIONS:
            stale.unlink(missing_ok=True)
    record = {"input": str(source), "stems": sorted(p.name for p in written if p.parent == folder)}
    atomic.write_text(manifest, json.dumps(record, indent=1) + "\n")
