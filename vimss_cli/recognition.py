"""Which instruments a file plays, heard by the instrument recogniser over the whole input:
what `vimss identify` prints, what `vimss separate --recognizer` separates when no `-i` is
given, and its check that warns when a named instrument is not heard (or one heard is not named).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from .constants import SAMPLE_RATE
from .dsp.audio import open_audio, resample_stream
from .instruments import ABBREVIATIONS, LineUp
from .nets.recognizer import HEARD, InstrumentRecognizer

NOT_HEARD = 0.05
"""A named instrument heard below this probability is warned about (its stem likely holds the
others' sound); an unnamed one heard from HEARD on is too. Chosen on validation pieces (fold R1's
and fold A's, 48, whole) with the held-out recogniser: below 0.05 fall 3 % of the instruments that
play and 24 % of those that do not (below 0.2: 34 % and 67 %), so the warning is rarely wrong."""
BLOCK_SECONDS = 30.0


@dataclass(frozen=True)
class Heard:
    """Each instrument class's probability of playing in one input."""

    probabilities: dict[str, float]
    """Every class of the instrument table, in its order."""

    @property
    def line_up(self) -> LineUp:
        """The classes heard (from HEARD on), in the table's order; the most probable one
        when none reaches it (a file plays something)."""
        heard = [a for a, p in self.probabilities.items() if p >= HEARD]
        return LineUp.of(heard or [max(self.probabilities, key=self.probabilities.__getitem__)])

    def to_json(self) -> dict[str, object]:
        """What `--json` records per track: the instruments heard and every class's probability."""
        return {
            "instruments": self.line_up.abbrs,
            "probabilities": {a: round(p, 4) for a, p in self.probabilities.items()},
        }

    def doubts(self, named: LineUp) -> list[str]:
        """One line per named instrument not heard and per unnamed one heard."""
        lines = [
            f"{a} is named but hardly heard (probability {self.probabilities[a]:.2f}): its stem may hold "
            "the other instruments' sound"
            for a in dict.fromkeys(named.classes)
            if self.probabilities[a] < NOT_HEARD
        ]
        lines += [
            f"{a} is heard (probability {p:.2f}) but not named: its sound goes into the named instruments' stems"
            for a, p in self.probabilities.items()
            if p >= HEARD and a not in named.classes
        ]
        return lines


def hear_file(recognizer: InstrumentRecognizer, path: str | Path) -> Heard:
    """The recogniser's probabilities for the audio of `path` (any input `vimss separate` reads),
    decoded and resampled block by block: an hour at 11025 Hz mono is 160 MB, at the file's rate
    in stereo it would be ten times that."""
    with open_audio(path) as reader:
        rate = reader.info.sample_rate
        blocks = (torch.from_numpy(b).mean(dim=0) for b in reader.blocks(max(1, round(BLOCK_SECONDS * rate))))
        parts = list(resample_stream(blocks, rate, SAMPLE_RATE))
    audio = torch.cat(parts) if parts else torch.zeros(0)
    return Heard(dict(zip(ABBREVIATIONS, recognizer.hear(audio).tolist())))
