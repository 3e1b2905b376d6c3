"""Recorded notes in `vimss synth`: libraries the tests write themselves (harmonic tones named as
the Philharmonia, Iowa, SFZ programs and VSCO name theirs), played by the sampler and measured."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.synth.test_realism import f0_track
from tests.synth.test_synth import TIM, write_score
from vimss_cli.errors import VimssError
from vimss_cli.synth import sampler
from vimss_cli.synth.dataset import synthesize
from vimss_cli.synth.item import render_item
from vimss_cli.synth.libraries import LIBRARY_FILE, load_library, note_pitch
from vimss_cli.synth.notation import Note
from vimss_cli.synth.performance import Performance, PlayedNote, Style, mechanical
from vimss_cli.synth.settings import SynthSettings

RATE = 22050


def tone(pitch: int, seconds: float, level: float, rate: int = 44100, lead: float = 0.05) -> np.ndarray:
    """A harmonic tone at `pitch` with a short attack and decay, after `lead` s of silence."""
    t = np.arange(int(seconds * rate)) / rate
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    wave = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6) if f0 * k < rate / 2)
    envelope = np.minimum(1.0, t / 0.02) * np.minimum(1.0, (seconds - t) / 0.05)
    return np.concatenate([np.zeros(int(lead * rate)), level * 0.5 * wave * envelope]).astype(np.float32)


def philharmonia_library(root: Path) -> Path:
    """violin: A4 at three lengths and two dynamics, E5 long, an A4 pizzicato; cello: C3 long."""
    files = {
        "violin_A4_1_forte_arco-normal": (69, 1.0, 0.8),
        "violin_A4_025_forte_arco-normal": (69, 0.25, 0.8),
        "violin_A4_long_piano_arco-normal": (69, 3.0, 0.1),
        "violin_A4_long_forte_arco-normal": (69, 3.0, 0.8),
        "violin_E5_long_forte_arco-normal": (76, 3.0, 0.8),
        "violin_A4_05_forte_pizz-normal": (69, 0.5, 0.8),
        "cello_C3_long_forte_arco-normal": (48, 3.0, 0.8),
        "cello_C3_phrase_forte_arco-detache": (48, 4.0, 0.8),  # a phrase, not a note
    }
    for name, (pitch, seconds, level) in files.items():
        folder = root / "data" / name.split("_")[0]
        folder.mkdir(parents=True, exist_ok=True)
        sf.write(folder / f"{name}.mp3", tone(pitch, seconds, level), 44100)
    (root / LIBRARY_FILE).write_text(json.dumps({"format": "philharmonia", "folder": "data"}))
    return root


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    return philharmonia_library(tmp_path_factory.mktemp("philharmonia"))


def played(*notes: tuple[float, float, int, int]) -> Performance:
    return mechanical(tuple(Note(*n) for n in notes))


def test_note_names_and_the_philharmonia_naming():
    assert [note_pitch(n) for n in ("A4", "As2", "Ab3", "C#5", "c4")] == [69, 46, 56, 73, 60]


def test_a_library_reads_its_notes_and_leaves_phrases_out(library):
    lib = load_library(library)
    assert lib.instruments == ("vn", "vc")
    assert len(lib.of("vn")) == 6 and len(lib.of("vc")) == 1
    assert {n.articulation for n in lib.of("vn")} == {"sustain", "pizzicato"}
    assert sorted(n.seconds or 0 for n in lib.of("vn") if n.velocity == 96) == [0, 0, 0.25, 0.5, 1.0]


@pytest.mark.parametrize("pitch", [69, 71, 66, 76, 79])
def test_a_rendered_note_sounds_at_the_asked_pitch(library, pitch):
    wave = sampler.render_part(played((0.1, 1.6, pitch, 96)), load_library(library), "vn", RATE, 2 * RATE, seed=0)
    asked = 440.0 * 2 ** ((pitch - 69) / 12)
    track = f0_track(wave[int(0.4 * RATE) : int(1.4 * RATE)], RATE, asked)
    assert abs(1200 * np.log2(np.median(track) / asked)) < 10


def test_a_note_starts_when_it_is_played_not_with_the_recordings_silence(library):
    wave = sampler.render_part(played((0.5, 1.5, 69, 96)), load_library(library), "vn", RATE, 2 * RATE, seed=0)
    loud = np.flatnonzero(np.abs(wave) > 0.05 * np.abs(wave).max())
    assert abs(loud[0] / RATE - 0.5) < 0.03


def test_a_louder_velocity_picks_a_louder_layer(library):
    lib = load_library(library)
    quiet, loud = (sampler.render_part(played((0.0, 2.0, 69, v)), lib, "vn", RATE, 3 * RATE, 0) for v in (40, 110))
    choices = [sampler.plan(played((0.0, 2.0, 69, v)), lib, "vn", 0)[0][0].path for v in (40, 110)]
    assert "piano" in choices[0] and "forte" in choices[1]
    assert np.sqrt(np.mean(loud**2)) > 4 * np.sqrt(np.mean(quiet**2))


def test_staccato_is_shorter_than_legato_and_plays_a_short_recording(library):
    lib = load_library(library)

    def sounding(wave: np.ndarray) -> float:
        level = np.abs(wave)
        return np.ptp(np.flatnonzero(level > 0.01 * level.max())) / RATE

    short, long_ = (sampler.render_part(played((0.0, d, 69, 96)), lib, "vn", RATE, 3 * RATE, 0) for d in (0.2, 1.2))
    assert sounding(short) < 0.6 < 1.1 < sounding(long_)
    assert "_025_" in sampler.plan(played((0.0, 0.2, 69, 96)), lib, "vn", 0)[0][0].path


def test_a_note_longer_than_its_recording_is_looped_and_released(library):
    lib = load_library(library)
    wave = sampler.render_part(played((0.0, 5.0, 76, 96)), lib, "vn", RATE, 6 * RATE, 0)  # the E5 lasts 3 s
    rms = [np.sqrt(np.mean(wave[int(s * RATE) : int((s + 0.5) * RATE)] ** 2)) for s in (1.0, 4.0, 5.5)]
    assert rms[1] > 0.5 * rms[0] and rms[2] < 1e-3  # still sounding at 4 s, silent after the release


def test_the_performance_pitch_curve_moves_a_recorded_note(library):
    note = PlayedNote(0.0, 1.5, 69, 96, 0, 0.0, 0.0, 0.0, 0.5, 0.0)
    style = Style(50.0, 0.0, 10.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, ((0.0, 0.0), (9.0, 0.0)), 0)
    detuned = Performance((note,), style, ("intonation",))  # 50 cents sharp throughout
    wave = sampler.render_part(detuned, load_library(library), "vn", RATE, 2 * RATE, 0)
    track = f0_track(wave[int(0.3 * RATE) : int(1.2 * RATE)], RATE, 440.0)
    assert abs(1200 * np.log2(np.median(track) / 440.0) - 50.0) < 10


def write_sfz_library(root: Path) -> Path:
    samples = root / "samples"
    samples.mkdir(parents=True)
    for name, pitch, level in [("c4_p_rr1", 60, 0.1), ("c4_p_rr2", 60, 0.1), ("c4_f", 60, 0.8), ("g4_f", 67, 0.8)]:
        sf.write(samples / f"{name}.wav", tone(pitch, 2.0, level), 44100)
    sf.write(samples / "breath_noise.wav", tone(60, 0.3, 0.1), 44100)
    (root / "sax.sfz").write_text(
        "<control> default_path=samples/\n"
        "<group> lokey=55 hikey=64 pitch_keycenter=60\n"
        "<region> sample=c4_p_rr1.wav hivel=63 seq_length=2 seq_position=1\n"
        "<region> sample=c4_p_rr2.wav hivel=63 seq_length=2 seq_position=2\n"
        "<region> sample=c4_f.wav lovel=64 tune=-10 volume=-2\n"
        "<region> sample=g4_f.wav key=g4\n"
        "<region> sample=breath_noise.wav key=60\n"
        "<region> sample=c4_f.wav trigger=release key=61\n"
    )
    (root / LIBRARY_FILE).write_text(
        json.dumps({"format": "sfz", "programs": [{"instrument": "saxophone", "sfz": "sax.sfz"}]})
    )
    return root


def test_sfz_regions_give_key_centres_velocity_layers_round_robins_tune_and_volume(tmp_path):
    lib = load_library(write_sfz_library(tmp_path))
    notes = {Path(n.path).stem: n for n in lib.of("sax")}
    assert sorted(notes) == ["c4_f", "c4_p_rr1", "c4_p_rr2", "g4_f"]  # no noise, no release trigger
    assert (notes["c4_p_rr1"].pitch, notes["c4_p_rr1"].velocity) == (60, 32)
    assert (notes["c4_f"].velocity, notes["c4_f"].tune_cents, notes["c4_f"].gain_db) == (95, -10.0, -2.0)
    assert notes["g4_f"].pitch == 67
    picks = {Path(sampler.plan(played((0, 1, 60, 30)), lib, "sax", seed)[0][0].path).stem for seed in range(12)}
    assert picks == {"c4_p_rr1", "c4_p_rr2"}  # round robins drawn, not repeated


def test_iowa_and_named_note_folders(tmp_path):
    iowa = tmp_path / "iowa"
    (iowa / "Flute").mkdir(parents=True)
    sf.write(iowa / "Flute" / "Flute.vib.ff.A4.stereo.aif", np.stack([tone(69, 1.0, 0.5)] * 2, 1), 44100, format="AIFF")
    (iowa / LIBRARY_FILE).write_text(json.dumps({"format": "iowa", "instruments": {"fl": "Flute"}}))
    (note,) = load_library(iowa).notes
    assert (note.instrument, note.pitch, note.velocity) == ("fl", 69, 112)
    vsco = tmp_path / "vsco"
    vsco.mkdir()
    for name in ("A3.mp3", "Cs4.mp3", "F2 v2.mp3", "README.md"):
        sf.write(vsco / name, tone(60, 0.5, 0.5), 44100) if name.endswith(".mp3") else (vsco / name).write_text("")
    (vsco / LIBRARY_FILE).write_text(json.dumps({"format": "named-notes", "instrument": "french horn"}))
    assert sorted(n.pitch for n in load_library(vsco).of("hn")) == [41, 57, 61]


def test_a_folder_without_playable_notes_is_refused_in_one_line(tmp_path):
    (tmp_path / LIBRARY_FILE).write_text(json.dumps({"format": "philharmonia"}))
    with pytest.raises(VimssError, match="names no playable recording"):
        SynthSettings("urmp", (str(tmp_path),))
    (tmp_path / LIBRARY_FILE).write_text(json.dumps({"format": "wav-folder"}))
    load_library.cache_clear()
    with pytest.raises(VimssError, match="format must be one of"):
        SynthSettings("urmp", (str(tmp_path),))


def test_synth_with_recorded_notes_sums_exactly_records_its_recordings_and_any_workers_give_the_same_bytes(
    library, tmp_path
):
    scores = tmp_path / "scores"
    scores.mkdir()
    write_score(scores / "duo.mid", [[76, 79, 81, 79] * 3, [48, 50, 52, 50] * 3])
    settings = SynthSettings(
        "urmp", (str(library),), sample_rate=11025, seconds=2.0, split="all", realism=("vibrato", "dynamics")
    )
    outs = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        synthesize(out, [scores / "duo.mid"], settings, pieces=2, workers=workers)
        outs.append(out)
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*.wav"))
    assert files and all((outs[0] / f).read_bytes() == (outs[1] / f).read_bytes() for f in files)
    manifest = json.loads((outs[0] / "manifest.json").read_text())
    for item in manifest["items"]:
        assert {p["instrument"] for p in item["parts"]} <= {"vn", "vc"}  # the library plays no other
        assert all(p["recordings"] and p["sample_set"] == library.name for p in item["parts"])
        folder = outs[0] / item["folder"]
        mix = sf.read(next(folder.glob("AuMix_*.wav")), dtype="int16")[0].astype(np.int32)
        stems = sum(sf.read(s, dtype="int16")[0].astype(np.int32) for s in folder.glob("AuSep_*.wav"))
        assert np.array_equal(mix, stems)


def test_an_instrument_a_library_lacks_is_played_by_a_set_that_has_it(library, tmp_path):
    scores = tmp_path / "scores"
    scores.mkdir()
    write_score(scores / "trio.mid", [[76, 79, 81, 79] * 3, [64, 62, 60, 62] * 3, [40, 43, 45, 43] * 3])
    settings = SynthSettings("urmp", (str(library), TIM), sample_rate=11025, seconds=2.0, split="all")
    synthesize(tmp_path / "out", [scores / "trio.mid"], settings, pieces=10)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    played_by = {(p["instrument"], "recordings" in p) for item in manifest["items"] for p in item["parts"]}
    assert any(recorded for _, recorded in played_by)  # the library played its instruments in some items
    assert any(abbr not in ("vn", "vc") for abbr, _ in played_by)  # and the others still had parts
    assert all(not recorded for abbr, recorded in played_by if abbr not in ("vn", "vc"))  # TimGM6mb played them


def test_a_recording_that_cannot_be_decoded_skips_its_item_with_a_reason(tmp_path):
    root = tmp_path / "broken"
    (root / "data").mkdir(parents=True)
    (root / "data" / "violin_A4_long_forte_arco-normal.mp3").write_bytes(b"\xff\xfb" + bytes(4000))  # not audio
    sf.write(root / "data" / "cello_C3_long_forte_arco-normal.mp3", tone(48, 3.0, 0.8), 44100)
    (root / "data" / "viola_C4_long_forte_arco-normal.mp3").write_bytes(b"")  # empty: left out when read
    (root / LIBRARY_FILE).write_text(json.dumps({"format": "philharmonia", "folder": "data"}))
    assert load_library(root).instruments == ("vn", "vc")
    score = write_score(tmp_path / "duo.mid", [[69, 71, 72, 71] * 3, [48, 50, 52, 50] * 3])
    item = render_item(0, score, SynthSettings("urmp", (str(root),), sample_rate=11025, seconds=2.0, split="all"))
    assert "violin_A4_long_forte_arco-normal.mp3" in item.record["skipped"] and not item.files
