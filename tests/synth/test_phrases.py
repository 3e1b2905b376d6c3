"""Real recordings laid out as solo recordings and fixed mixtures (recordings the tests write)."""

import json
from pathlib import Path

import numpy as np
import pyloudnorm
import soundfile as sf

from tests.synth.test_sampler import tone
from vimss_cli.evaluation.urmp import urmp_pieces
from vimss_cli.synth.phrases import LOUDNESS_LUFS, Mixtures, Take, hold_out, sounding_spans, write_mixtures, write_solos
from vimss_cli.training.data import solos_recordings

RATE = 22050


def phrase(rate: int = 44100) -> np.ndarray:
    """3 s of playing, 1.5 s of silence, 2 s of playing, 0.3 s of silence, 14 s of playing."""
    silence = lambda s: np.zeros(int(s * rate), np.float32)  # noqa: E731
    first = [silence(0.5), tone(69, 3.0, 0.5, rate, 0), silence(1.5)]
    return np.concatenate(
        [*first, tone(72, 2.0, 0.5, rate, 0), silence(0.3), tone(64, 14.0, 0.05, rate, 0), silence(1)]
    )


def test_sounding_spans_cut_at_long_silences_and_cut_long_stretches():
    spans = [(a / RATE, b / RATE) for a, b in sounding_spans(phrase(RATE), RATE, max_seconds=12.0)]
    starts = [round(a, 1) for a, _ in spans]
    assert starts == [0.5, 5.0, 13.1]  # 0.3 s of silence does not cut; its 16.3 s become two halves
    assert all(b - a <= 12.01 for a, b in spans)


def test_write_solos_lays_out_loudness_normalised_segments_with_their_source(tmp_path):
    sf.write(tmp_path / "vn.mp3", phrase(), 44100)
    sf.write(tmp_path / "fl.flac", tone(76, 4.0, 0.9), 44100)
    takes = [Take(tmp_path / "vn.mp3", "vn", "set-a"), Take(tmp_path / "fl.flac", "fl", "set-b")]
    out = tmp_path / "solos"
    assert write_solos(takes, out, RATE) == 4
    found = solos_recordings(out)  # what `vimss train` reads
    assert sorted(len(v) for v in found.values()) == [1, 3]
    manifest = json.loads((out / "manifest.json").read_text())["segments"]
    assert {s["family"] for s in manifest.values()} == {"set-a", "set-b"}
    flute = next(out.glob("Flute/*.flac"))
    wave, rate = sf.read(flute)
    assert rate == RATE and abs(pyloudnorm.Meter(RATE).integrated_loudness(wave) - LOUDNESS_LUFS) < 1.0
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.flac")}
    assert write_solos(takes, out, RATE) == 4  # a rerun skips what is done
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.flac")} == before


def test_hold_out_is_per_instrument_and_the_same_every_time():
    takes = [Take(Path(f"{a}-{k}.mp3"), a, "x") for a in ("vn", "tba") for k in range(8)]
    kept, val, test = hold_out(takes, 0.25)
    assert {t.instrument for t in val} == {t.instrument for t in test} == {"vn", "tba"}
    assert len(val) + len(test) == 4 and not set(kept) & set(val + test)
    assert hold_out(list(reversed(takes)), 0.25) == (kept, val, test)
    assert hold_out(takes, 1.0)[0] == []


def test_write_mixtures_makes_urmp_pieces_whose_mix_is_the_sum_of_the_parts(tmp_path):
    for name, pitch in (("vn", 69), ("vc", 48), ("fl", 79)):
        sf.write(tmp_path / f"{name}.flac", tone(pitch, 8.0, 0.5), 44100)
    write_solos([Take(tmp_path / f"{a}.flac", a, "s") for a in ("vn", "vc", "fl")], tmp_path / "solos", RATE)
    settings = Mixtures(pieces=3, seconds=4.0, min_parts=2, max_parts=3, seed=1)
    assert write_mixtures(tmp_path / "solos", tmp_path / "pieces", settings) == 3
    pieces, skipped = urmp_pieces(tmp_path / "pieces")
    assert len(pieces) == 3 and not skipped
    for piece in pieces:
        mix = sf.read(piece.mix, dtype="int16")[0].astype(np.int32)
        parts = sum(sf.read(p, dtype="int16")[0].astype(np.int32) for ps in piece.sources.values() for p in ps)
        assert np.array_equal(mix, parts) and len(mix) == 4 * RATE
