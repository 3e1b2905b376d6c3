"""Realism of `vimss synth`: measured in the rendered stems, not only in the manifest."""

import itertools
import json
import random
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.synth.test_synth import TIM, settings, write_score
from vimss_cli.errors import VimssError
from vimss_cli.evaluation.urmp import urmp_pieces
from vimss_cli.instruments import instrument
from vimss_cli.synth import augment, physical
from vimss_cli.synth.arrange import Voice
from vimss_cli.synth.dataset import synthesize
from vimss_cli.synth.fluidsynth import render_part
from vimss_cli.synth.item import render_stem
from vimss_cli.synth.notation import Note, cached_parts
from vimss_cli.synth.performance import Performance, PlayedNote, Style, draw_style, mechanical, perform
from vimss_cli.synth.physical import PHYSICAL
from vimss_cli.synth.settings import REALISM, parse_realism

SR = 11025


def f0_track(wave: np.ndarray, sr: int, near: float, hop: int = 64, size: int = 512) -> np.ndarray:
    """The fundamental near `near` Hz in each frame: the spectral peak, parabolically refined."""
    window = np.hanning(size)
    pad = 32 * size
    track = []
    for start in range(0, len(wave) - size, hop):
        spectrum = np.abs(np.fft.rfft(wave[start : start + size] * window, pad))
        lo, hi = int(near * 0.9 * pad / sr), int(near * 1.1 * pad / sr)
        k = lo + int(np.argmax(spectrum[lo:hi]))
        a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-12)
        track.append((k + 0.5 * (a - c) / (a - 2 * b + c)) * sr / pad)
    return np.array(track)


def one_note(rate: float, depth: float, detune: float = 0.0) -> Performance:
    style = Style(detune, 0.0, 10.0, 0.0, 1.0, rate, depth, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, ((0.0, 0.0), (9.0, 0.0)), 0)
    note = PlayedNote(0.0, 3.0, 69, 100, 0, rate, depth, 0.2, 0.5, 0.0)
    return Performance((note,), style, ("vibrato", "intonation"))


def cents(track: np.ndarray, reference: float) -> np.ndarray:
    return 1200 * np.log2(track / reference)


@pytest.mark.parametrize(("rate", "depth"), [(5.0, 30.0), (6.5, 15.0)])
def test_vibrato_wobbles_the_rendered_pitch_at_the_drawn_rate_and_depth(rate, depth):
    # The sample's own pitch wobble is taken out: the same note rendered without vibrato.
    wave, flat = (
        render_part(one_note(rate, d), 73, TIM, SR, None, 4 * SR)[SR // 2 : int(2.8 * SR)] for d in (depth, 0.0)
    )
    track = cents(f0_track(wave, SR, 440.0), 440.0) - cents(f0_track(flat, SR, 440.0), 440.0)
    track -= track.mean()
    spectrum = np.abs(np.fft.rfft(track * np.hanning(len(track)), 8 * len(track)))
    found = np.argmax(spectrum[1:]) + 1
    assert found * SR / 64 / (8 * len(track)) == pytest.approx(rate, abs=0.3)
    assert np.percentile(np.abs(track), 98) == pytest.approx(depth, rel=0.2)


def test_detune_moves_the_whole_note():
    sharp = f0_track(render_part(one_note(5.0, 0.0, detune=10.0), 73, TIM, SR, None, 4 * SR)[SR : 2 * SR], SR, 440.0)
    plain = f0_track(render_part(one_note(5.0, 0.0), 73, TIM, SR, None, 4 * SR)[SR : 2 * SR], SR, 440.0)
    assert float(np.median(cents(sharp, 1.0) - cents(plain, 1.0))) == pytest.approx(10.0, abs=1.5)


def test_expression_shapes_loudness_inside_a_note():
    style = Style(0, 0, 10, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, ((0.0, 0.0), (1.0, -12.0), (2.0, 0.0), (9.0, 0.0)), 0)
    note = PlayedNote(0.0, 3.0, 69, 100, 0, 0.0, 0.0, 0.2, 0.5, 0.0)
    wave = render_part(Performance((note,), style, ("dynamics",)), 73, TIM, SR, None, 4 * SR)
    level = [20 * np.log10(np.sqrt(np.mean(wave[int(t * SR) : int((t + 0.1) * SR)] ** 2))) for t in (0.45, 0.95, 1.45)]
    assert level[0] - level[1] == pytest.approx(6.0, abs=2.0)  # -6 dB of the phrase at 0.5 s ... -12 at 1 s
    assert level[2] - level[1] == pytest.approx(6.0, abs=2.0)


def test_onsets_move_by_the_drawn_jitter(tmp_path):
    import pretty_midi

    midi = pretty_midi.PrettyMIDI()
    for k, pitches in enumerate([[72, 74, 76, 77] * 4, [48, 50, 52, 53] * 4]):
        track = pretty_midi.Instrument(program=0, name=f"line {k + 1}")
        track.notes = [pretty_midi.Note(90, p, 0.5 * i, 0.5 * i + 0.12) for i, p in enumerate(pitches)]  # short, apart
        midi.instruments.append(track)
    score = tmp_path / "duet.mid"
    midi.write(str(score))
    mech = synthesize(tmp_path / "m", [score], settings("urmp", seconds=8.0), pieces=1)
    timed = synthesize(tmp_path / "t", [score], settings("urmp", seconds=8.0, realism=("timing",)), pieces=1)
    record = json.loads(timed.manifest.read_text())["items"][0]
    assert [p["instrument"] for p in record["parts"]] == [
        p["instrument"] for p in json.loads(mech.manifest.read_text())["items"][0]["parts"]
    ]  # the same arrangement
    (piece_m,), _ = urmp_pieces(tmp_path / "m")
    (piece_t,), _ = urmp_pieces(tmp_path / "t")
    for k, inst in enumerate(piece_t.instruments):
        mech_onsets, timed_onsets = (_onsets(sf.read(p.sources[inst][0])[0]) for p in (piece_m, piece_t))
        played = [n[0] for n in record["parts"][k]["performance"]["notes"]]
        assert len(mech_onsets) == len(timed_onsets) == len(played)
        moved = np.array(timed_onsets) - np.array(mech_onsets)
        assert np.std(np.diff(moved)) > 0.004  # each onset moves by its own jitter ...
        # ... by what the manifest says (FluidSynth starts a note on its next 64-sample block, 5.8 ms here)
        written = pretty_midi.PrettyMIDI(str(next(piece_m.folder.glob("Sco_*.mid")))).instruments[k].notes
        np.testing.assert_allclose(moved, np.array(played) - [n.start for n in written], atol=0.007)


def _onsets(wave: np.ndarray) -> list[float]:
    """Seconds where the 2-ms envelope first rises above a tenth of its peak after a rest of 0.2 s."""
    envelope = np.convolve(np.abs(wave), np.ones(22) / 22, "same")
    above = np.flatnonzero(envelope > 0.1 * envelope.max())
    starts = [above[0], *(b for a, b in itertools.pairwise(above) if b - a > 0.2 * SR)]
    return [s / SR for s in starts]


def test_legato_and_staccato_change_the_lengths():
    notes = tuple(Note(0.5 * i, 0.5 * i + 0.46, 60 + i % 3, 90) for i in range(200))
    played = perform(notes, random.Random(4), "vn", ("timing", "vibrato"), 100.0)
    lengths = np.array([n.end - n.start for n in played.notes])
    assert (lengths < 0.4).any() and (lengths > 0.5).any()  # staccato notes, and notes joined into the next
    pairs = list(zip(played.notes, played.notes[1:]))
    assert any(a.end > b.start for a, b in pairs)
    assert all(a.channel != b.channel for a, b in pairs if a.end > b.start)  # each keeps its own bend


def test_players_differ_and_some_play_without_vibrato():
    styles = [draw_style(random.Random(k), "vn", 30.0) for k in range(200)]
    without = sum(s.vibrato_share == 0 for s in styles)
    assert 10 <= without <= 60
    assert all(4.5 <= s.vibrato_rate <= 7.0 and 5 <= s.vibrato_depth <= 40 for s in styles)
    assert all(abs(s.detune_cents) <= 12 for s in styles)
    clarinet = np.mean([draw_style(random.Random(k), "cl", 30.0).vibrato_depth for k in range(200)])
    assert clarinet < 0.3 * np.mean([s.vibrato_depth for s in styles])


def test_overlapping_notes_get_their_own_channels():
    notes = (*tuple(Note(0.0, 2.0, 60 + k, 90) for k in range(3)), Note(1.0, 1.5, 70, 90))
    played = perform(notes, random.Random(0), "vn", ("vibrato",), 5.0)
    assert len({n.channel for n in played.notes}) == 4 and 9 not in {n.channel for n in played.notes}


def test_the_manifest_records_every_draw(tmp_path):
    score = write_score(tmp_path / "trio.mid", [[76, 79, 81, 79] * 3, [64, 62, 60, 62] * 3, [40, 43, 45, 43] * 3])
    summary = synthesize(tmp_path / "o", [score], settings("urmp", realism=REALISM), pieces=1)
    item = json.loads(summary.manifest.read_text())["items"][0]
    assert item["realism"] == list(REALISM) and item["reverb"] is None  # a room per player instead
    for part in item["parts"]:
        perf = part["performance"]
        assert len(perf["notes"]) == part["notes"] and len(perf["note_fields"]) == len(perf["notes"][0])
        assert set(perf["style"]) >= {"detune_cents", "vibrato_rate", "jitter_ms", "phrase"}
        assert set(part["recording"]) == {"room", "eq", "compression", "noise"}
        assert part["sample_set"] == "TimGM6mb.sf2" and isinstance(part["calibration_db"], float)


def test_turning_one_step_off_keeps_the_other_draws(tmp_path):
    score = write_score(tmp_path / "duet.mid", [[76, 79, 81, 79] * 3, [40, 43, 45, 43] * 3])
    full = synthesize(tmp_path / "a", [score], settings("urmp", realism=REALISM), pieces=1)
    less = synthesize(tmp_path / "b", [score], settings("urmp", realism=parse_realism("-noise")), pieces=1)
    a, b = (json.loads(s.manifest.read_text())["items"][0]["parts"] for s in (full, less))
    assert [p["performance"] for p in a] == [p["performance"] for p in b]
    assert [p["recording"] for p in a] == [p["recording"] for p in b]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("all", REALISM),
        ("none", ()),
        ("room,vibrato", ("vibrato", "room")),
        ("-noise,-room", tuple(s for s in REALISM if s not in ("noise", "room"))),
    ],
)
def test_realism_steps_are_named(spec, expected):
    assert parse_realism(spec) == expected


@pytest.mark.parametrize("spec", ["reverb", "room,-noise"])
def test_unknown_or_mixed_realism_steps_are_errors(spec):
    with pytest.raises(VimssError, match=r"realism"):
        parse_realism(spec)


def test_noise_floor_sits_at_its_drawn_levels():
    draws = augment.draw_recording(random.Random(3), SR)["noise"] | {
        "hum_db": -50.0,
        "rumble_db": -40.0,
        "hiss_db": -60.0,
    }
    noise = augment.noise_floor(10 * SR, 1.0, draws, SR)
    total = 10 * np.log10(10 ** (-40 / 10) + 10 ** (-50 / 10) + 10 ** (-60 / 10))
    assert 20 * np.log10(np.sqrt(np.mean(noise**2))) == pytest.approx(total, abs=0.5)
    spectrum = np.abs(np.fft.rfft(noise)) ** 2
    freqs = np.fft.rfftfreq(len(noise), 1 / SR)
    assert spectrum[freqs < 200].sum() > 0.9 * spectrum.sum()  # rumble and hum are low


def test_a_room_adds_a_tail_and_keeps_the_direct_sound_in_place():
    click = np.zeros(SR, np.float32)
    click[100] = 1.0
    room = augment.draw_recording(random.Random(1), SR)["room"] | {"rt60": 0.6}
    wet = augment.in_room(click, room, SR)
    assert len(wet) == SR and int(np.argmax(np.abs(wet))) == 100 and wet[100] == pytest.approx(1.0)
    assert np.sum(wet[200:] ** 2) > 0.01  # reflections


def test_scores_are_read_once_and_slow_ones_are_given_up(tmp_path):
    import music21

    score = music21.stream.Score()
    for pitches in (["E5", "G5", "A5"] * 40, ["C3", "E3", "A2"] * 40):
        part = music21.stream.Part()
        for p in pitches:
            part.append(music21.note.Note(p, quarterLength=1))
        score.insert(0, part)
    path = Path(score.write("musicxml", fp=tmp_path / "duet.musicxml"))
    copy = tmp_path / "again.musicxml"
    copy.write_bytes(path.read_bytes())
    with pytest.raises(VimssError, match=r"reading took longer than 0.001 s"):
        cached_parts(path, time_limit=0.001)
    parts = cached_parts(path, time_limit=60)
    assert [len(p.notes) for p in parts] == [120, 120]
    # Cached by content: the same score under another name is not parsed again, so no limit bites.
    assert cached_parts(copy, time_limit=0.001) == parts


@pytest.mark.parametrize("inst", ["vn", "vc", "fl", "cl", "ob", "sax", "tpt", "tba"])
def test_a_physical_model_stem_sounds_in_the_asked_pitch(inst):
    low, high = instrument(inst).pitch_range
    pitch = (low + high) // 2
    timbre = physical.draw_timbre(random.Random(1), inst)
    voice = Voice("p", inst, instrument(inst).gm_programs[0], 0, 1.0, 0.0, (Note(0.1, 1.6, pitch, 100),))
    wave = render_stem(mechanical(voice.notes), voice, PHYSICAL, timbre, SR, None, 2 * SR)
    steady = wave[int(0.6 * SR) : int(1.4 * SR)]
    assert 20 * np.log10(np.sqrt(np.mean(steady**2))) > -60  # not silent (levels are calibrated afterwards)
    hz = 440.0 * 2 ** ((pitch - 69) / 12)
    track = f0_track(steady, SR, hz)
    assert float(np.median(cents(track, hz))) == pytest.approx(0.0, abs=15.0)


def test_physical_models_follow_the_vibrato():
    timbre = physical.draw_timbre(random.Random(2), "vn")
    flat, wobbly = (
        physical.render_part(one_note(5.5, d), "vn", timbre, SR, 4 * SR)[SR : int(2.8 * SR)] for d in (0.0, 30.0)
    )
    track = cents(f0_track(wobbly, SR, 440.0), 440.0) - cents(f0_track(flat, SR, 440.0), 440.0)
    assert np.percentile(np.abs(track - track.mean()), 98) == pytest.approx(30.0, rel=0.3)


def test_physical_models_render_as_a_sample_set(tmp_path):
    score = write_score(tmp_path / "trio.mid", [[76, 79, 81, 79] * 3, [64, 62, 60, 62] * 3, [40, 43, 45, 43] * 3])
    summary = synthesize(tmp_path / "o", [score], settings("urmp", soundfonts=(PHYSICAL,), realism=REALISM), pieces=1)
    item = json.loads(summary.manifest.read_text())["items"][0]
    assert all(
        p["sample_set"] == PHYSICAL and p["timbre"]["family"] == physical.FAMILIES[p["instrument"]]
        for p in item["parts"]
    )
    (piece,), _ = urmp_pieces(tmp_path / "o")
    mix = sf.read(piece.mix, dtype="int16")[0]
    stems = [sf.read(p, dtype="int16")[0].astype(np.int32) for i in piece.instruments for p in piece.sources[i]]
    np.testing.assert_array_equal(mix, np.sum(stems, axis=0))
    assert all(np.abs(s).max() > 300 for s in stems)


@pytest.mark.parametrize("inst", ["ob", "bn", "sax"])
def test_every_drawn_reed_sounds(inst):
    low, high = instrument(inst).pitch_range
    for seed in range(12):
        timbre = physical.draw_timbre(random.Random(seed), inst)
        note = mechanical((Note(0.0, 0.8, (low + high) // 2, 100),))
        wave = physical.render_part(note, inst, timbre, SR, SR)
        assert np.isfinite(wave).all() and 20 * np.log10(np.sqrt(np.mean(wave**2))) > -30, timbre
