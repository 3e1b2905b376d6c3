"""Regenerate the example inputs (deterministic): `python examples/make_examples.py`.

duet.flac: the first 12 s of the violin I and cello parts of Mozart's quartet K. 80,
4th movement (a score of the held-out test split, so the bundled model never trained
on it), rendered by `vimss synth`'s own renderer with MuseScore_General (a soundfont
the bundled model never heard), 44.1 kHz, violin panned left and cello right.

quartet.mp4: the same score's violin I, viola and cello for 12 s with `vimss synth
--video`'s figures, left to right in that order, the mono mix as its audio track:
`vimss separate examples/quartet.mp4 --instruments vn,va,vc`.

reference/<example>/<instrument>.flac: each player's part alone as it sounds in the
example's mono downmix, at 11025 Hz (the models' rate): what tests/test_regression.py
scores the bundled models' stems against.
"""

import random
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio
from music21 import corpus

from vimss_cli.instruments import instrument
from vimss_cli.synth.arrange import fold_into_range, octave_fit
from vimss_cli.synth.fluidsynth import render_part
from vimss_cli.synth.notation import Note, load_parts
from vimss_cli.synth.performance import mechanical
from vimss_cli.synth.video import encode_video, place_figures, render_frames

SR = 44100
REFERENCE_RATE = 11025
SECONDS = 12.0
SOUNDFONT = "/usr/share/sounds/sf3/MuseScore_General.sf3"
HERE = Path(__file__).parent


def render(part, abbr: str) -> tuple[np.ndarray, tuple[float, ...]]:
    """A part's first SECONDS in its instrument's range: audio and note onsets."""
    inst = instrument(abbr)
    notes = tuple(n for n in part.notes if n.start < SECONDS)
    shift, _ = octave_fit(notes, inst)
    notes = tuple(Note(n.start, min(n.end, SECONDS), fold_into_range(n.pitch + shift, inst), n.velocity) for n in notes)
    audio = render_part(
        mechanical(notes), inst.gm_programs[0], SOUNDFONT, SR, (0.3, 0.2, 0.5, 0.3), int(SR * (SECONDS + 1))
    )
    return audio, tuple(n.start for n in notes)


def write_references(example: str, parts: dict[str, np.ndarray]) -> None:
    folder = HERE / "reference" / example
    folder.mkdir(parents=True, exist_ok=True)
    for abbr, audio in parts.items():
        low = torchaudio.functional.resample(torch.from_numpy(audio.astype(np.float32)), SR, REFERENCE_RATE)
        sf.write(folder / f"{abbr}.flac", low.numpy(), REFERENCE_RATE, subtype="PCM_24")


def main() -> None:
    work = corpus.getWork("mozart/k80/movement4.mxl")
    assert isinstance(work, Path), "one movement is one file"
    parts = load_parts(work)
    (violin, violin_onsets), (viola, viola_onsets), (cello, cello_onsets) = (
        render(parts[0], "vn"),
        render(parts[2], "va"),
        render(parts[-1], "vc"),
    )
    stereo = np.stack([0.75 * violin + 0.25 * cello, 0.25 * violin + 0.75 * cello], axis=1)
    gain = 0.8 / np.abs(stereo).max()
    sf.write(HERE / "duet.flac", gain * stereo, SR, subtype="PCM_16")
    write_references("duet", {"vn": gain * violin / 2, "vc": gain * cello / 2})  # (left + right) / 2
    mix = violin + viola + cello
    gain = 0.8 / np.abs(mix).max()
    write_references("quartet", {"vn": gain * violin, "va": gain * viola, "vc": gain * cello})
    mix = np.round(32767 * gain * mix).astype(np.int16)
    rng = random.Random(80)
    figures = place_figures(["vn", "va", "vc"], [violin_onsets, viola_onsets, cello_onsets], rng)
    (HERE / "quartet.mp4").write_bytes(encode_video(render_frames(figures, SECONDS + 1, rng), mix, SR))


if __name__ == "__main__":
    main()
