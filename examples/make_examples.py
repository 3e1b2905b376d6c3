"""Regenerate the example inputs (deterministic): `python examples/make_examples.py`.

duet.flac: the first 12 s of the violin I and cello parts of Mozart's quartet K. 80,
4th movement (a score of the held-out test split, so the bundled model never trained
on it), rendered by `vimss synth`'s own renderer with MuseScore_General (a soundfont
the bundled model never heard), 44.1 kHz, violin panned left and cello right.
"""

from pathlib import Path

import numpy as np
import soundfile as sf
from music21 import corpus

from vimss_cli.instruments import instrument
from vimss_cli.scores import Note, load_parts
from vimss_cli.synth import fold_into_range, octave_fit, render_part

SR = 44100
SECONDS = 12.0
SOUNDFONT = "/usr/share/sounds/sf3/MuseScore_General.sf3"
HERE = Path(__file__).parent


def main() -> None:
    parts = load_parts(Path(corpus.getWork("mozart/k80/movement4.mxl")))
    stems = []
    for part, abbr in ((parts[0], "vn"), (parts[-1], "vc")):
        inst = instrument(abbr)
        notes = tuple(n for n in part.notes if n.start < SECONDS)
        shift, _ = octave_fit(notes, inst)
        notes = tuple(Note(n.start, min(n.end, SECONDS), fold_into_range(n.pitch + shift, inst), n.velocity) for n in notes)
        stems.append(render_part(notes, inst.gm_programs[0], SOUNDFONT, SR, (0.3, 0.2, 0.5, 0.3), int(SR * (SECONDS + 1))))
    violin, cello = stems
    stereo = np.stack([0.75 * violin + 0.25 * cello, 0.25 * violin + 0.75 * cello], axis=1)
    sf.write(HERE / "duet.flac", 0.8 * stereo / np.abs(stereo).max(), SR, subtype="PCM_16")


if __name__ == "__main__":
    main()
