"""`vimss synth`: real FluidSynth renders of tiny scores with pretty_midi's bundled soundfont."""

import itertools
import json
import random
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from tests.helpers import assert_one_line_error, vimss
from vimss_cli.errors import VimssError
from vimss_cli.evaluation.urmp import urmp_pieces
from vimss_cli.instruments import instrument
from vimss_cli.synth.arrange import arrange, octave_fit
from vimss_cli.synth.dataset import synthesize
from vimss_cli.synth.notation import Note, Part, load_parts, split_of
from vimss_cli.synth.settings import REALISM, SynthSettings, default_soundfonts
from vimss_cli.training.data import solos_recordings

TIM = str(Path(pretty_midi.__file__).parent / "TimGM6mb.sf2")


def write_score(path: Path, lines: list[list[int]], beat: float = 0.25, program: int = 0) -> Path:
    """A MIDI file with one track per line of pitches (one note per beat)."""
    midi = pretty_midi.PrettyMIDI()
    for k, pitches in enumerate(lines):
        track = pretty_midi.Instrument(program=program, name=f"line {k + 1}")
        track.notes = [pretty_midi.Note(90, p, i * beat, (i + 0.9) * beat) for i, p in enumerate(pitches)]
        midi.instruments.append(track)
    midi.write(str(path))
    return path


@pytest.fixture
def scores(tmp_path: Path) -> Path:
    folder = tmp_path / "scores"
    folder.mkdir()
    for n in range(3):
        write_score(folder / f"trio{n}.mid", [[76 + n, 79, 81, 79] * 3, [64, 62, 60, 62] * 3, [40 + n, 43, 45, 43] * 3])
    return folder


def settings(layout: str, **overrides) -> SynthSettings:
    return SynthSettings(
        **{"layout": layout, "soundfonts": (TIM,), "sample_rate": 11025, "seconds": 2.0, "split": "all", **overrides}
    )


def test_octave_fit_moves_parts_into_range():
    low_line = tuple(Note(i, i + 1, p, 80) for i, p in enumerate([40, 43, 47]))  # below the violin's G3 (55)
    shift, out = octave_fit(low_line, instrument("vn"))
    assert shift == 24 and out == 0
    assert octave_fit(low_line, instrument("vc")) == (0, 0)


def test_arrangement_keeps_every_note_in_range_and_is_seeded():
    parts = [
        Part(f"p{k}", tuple(Note(i * 0.5, i * 0.5 + 0.4, 30 + 15 * k + i % 5, 90) for i in range(40))) for k in range(4)
    ]
    config = settings("urmp", min_parts=2, max_parts=3, seconds=5.0)
    voices = arrange(parts, random.Random(3), config)
    assert 2 <= len(voices) <= 3
    assert len({v.instrument for v in voices}) == len(voices)  # distinct when the ranges allow
    for voice in voices:
        low, high = instrument(voice.instrument).pitch_range
        assert all(low <= n.pitch <= high for n in voice.notes)
        assert all(0 <= n.start < n.end <= 5.0 for n in voice.notes)
        assert voice.transpose % 12 == 0
    assert arrange(parts, random.Random(3), config) == voices


@pytest.mark.parametrize("realism", [(), REALISM], ids=["mechanical", "every-realism-step"])
def test_urmp_layout_is_read_by_evaluate_and_mix_is_sum_of_stems(tmp_path, scores, realism):
    out = tmp_path / "urmp"
    summary = synthesize(out, sorted(scores.iterdir()), settings("urmp", realism=realism), pieces=2)
    assert summary.items == 2 and summary.rendered == 2
    pieces, skipped = urmp_pieces(out)
    assert len(pieces) == 2 and not skipped
    for piece in pieces:
        folder = piece.folder
        number, title = folder.name.split("_")[:2]
        names = sorted(f.name for f in folder.iterdir())
        assert names[0] == f"AuMix_{folder.name}.wav" and f"Sco_{folder.name}.mid" in names
        assert all(n.startswith("AuSep_") and n.endswith(f"_{number}_{title}.wav") for n in names[1:-1])
        mix, sr = sf.read(piece.mix, dtype="int16")
        stems = [
            sf.read(p, dtype="int16")[0].astype(np.int32) for inst in piece.instruments for p in piece.sources[inst]
        ]
        assert sr == 11025 and len(mix) == len(stems[0])
        np.testing.assert_array_equal(mix, np.sum(stems, axis=0))  # exactly, sample for sample
        assert all(np.abs(s).max() > 300 for s in stems)  # every part sounds (> -40 dBFS)
        assert len(pretty_midi.PrettyMIDI(str(folder / f"Sco_{folder.name}.mid")).instruments) == len(stems)
    manifest = json.loads(summary.manifest.read_text())
    item = manifest["items"][0]
    assert manifest["settings"]["seed"] == 0 and item["soundfont"] == "TimGM6mb.sf2"
    assert {"instrument", "program", "transpose", "gain_db", "velocity_scale"} <= set(item["parts"][0])
    assert item["score"].endswith(".mid")


def test_solos_layout_is_read_by_training(tmp_path, scores):
    out = tmp_path / "solos"
    synthesize(out, sorted(scores.iterdir()), settings("solos"), pieces=3)
    recordings = solos_recordings(out)
    files = [f for fs in recordings.values() for f in fs]
    assert len(files) >= 6 and all(f.suffix == ".flac" for f in files)
    assert all(f.parent.name == instrument(f.parent.name).solos_folder for f in files)


@pytest.mark.parametrize("realism", [(), REALISM], ids=["mechanical", "every-realism-step"])
def test_same_seed_same_bytes_whatever_the_workers_and_resume_skips_done_items(tmp_path, scores, realism):
    files = [write_score(scores / "solo.mid", [[60, 62, 64]]), *sorted(scores.iterdir())]  # solo.mid: skipped
    one = synthesize(tmp_path / "a", files, settings("urmp", seed=5, realism=realism), pieces=3, workers=1)
    synthesize(tmp_path / "b", files, settings("urmp", seed=5, realism=realism), pieces=2, workers=2)
    resumed = synthesize(tmp_path / "b", files, settings("urmp", seed=5, realism=realism), pieces=3, workers=2)
    assert resumed.rendered == 1 and one.rendered == 3
    assert resumed.skipped == one.skipped and any("solo.mid" in note for note in one.skipped)

    def contents(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.wav"))}

    assert contents(tmp_path / "a") == contents(tmp_path / "b")
    other = synthesize(tmp_path / "c", files, settings("urmp", seed=6), pieces=1)
    assert other.manifest.read_text() != one.manifest.read_text()


def test_videos_show_each_player_in_its_box_with_the_mix_as_audio(tmp_path, scores):
    from vimss_cli.synth.video import LOOKS
    from vimss_cli.video.frames import read_frames, video_info

    plain = synthesize(tmp_path / "plain", sorted(scores.iterdir()), settings("urmp"), pieces=1)
    shown = synthesize(tmp_path / "video", sorted(scores.iterdir()), settings("urmp", video=True), pieces=1)
    item = json.loads(shown.manifest.read_text())["items"][0]
    folder = tmp_path / "video" / item["folder"]
    # the audio does not depend on --video
    assert (folder / f"AuMix_{folder.name}.wav").read_bytes() == (
        tmp_path / "plain" / json.loads(plain.manifest.read_text())["items"][0]["folder"] / f"AuMix_{folder.name}.wav"
    ).read_bytes()
    video = folder / f"Vid_{folder.name}.mp4"
    info = video_info(video)
    assert (info.width, info.height, info.fps, info.has_audio) == (320, 180, 15.0, True)
    assert info.duration == pytest.approx(item["seconds"], abs=0.2)
    boxes = item["boxes"][f"{folder.name}/Vid_{folder.name}.mp4"]
    instruments = [part["instrument"] for part in item["parts"]]
    assert len(boxes) == len(instruments) and [b[0] for b in boxes] == sorted(b[0] for b in boxes)  # left to right
    assert all(a[2] <= b[0] + 1 for a, b in itertools.pairwise(boxes))  # players do not overlap
    (frame,) = read_frames(video, [0.5])
    for (x1, y1, x2, y2), inst in zip(boxes, instruments):
        inside = frame[int(y1) : int(y2), int(x1) : int(x2)].reshape(-1, 3).astype(int)
        shirt = np.array(LOOKS[inst].shirt)
        assert (np.abs(inside - shirt).max(axis=1) < 40).mean() > 0.03  # its instrument's shirt is in its box


def test_a_figure_moves_at_its_onsets():
    from vimss_cli.synth.video import place_figures, render_frames

    (figure,) = place_figures(["vn"], [(1.0,)], random.Random(0))
    assert figure.activity(0.5) == 0 and figure.activity(1.0) == 1 and figure.activity(1.5) < 0.05
    frames = list(render_frames([figure], 2.0, random.Random(0)))  # 15 fps
    still, onset, settled = frames[7], frames[15], frames[29]
    assert np.array_equal(still, settled) and not np.array_equal(still, onset)


def test_a_solos_recording_gets_its_own_video(tmp_path, scores):
    summary = synthesize(tmp_path / "solos", sorted(scores.iterdir()), settings("solos", video=True), pieces=1)
    item = json.loads(summary.manifest.read_text())["items"][0]
    audio = [f for f in item["files"] if f.endswith(".flac")]
    assert sorted(item["boxes"]) == sorted(f[: -len(".flac")] + ".mp4" for f in audio)
    assert all((tmp_path / "solos" / video).is_file() for video in item["boxes"])


def test_a_folder_made_with_other_settings_is_refused(tmp_path, scores):
    synthesize(tmp_path / "a", sorted(scores.iterdir()), settings("urmp"), pieces=1)
    with pytest.raises(VimssError, match=r"other settings .*seconds"):
        synthesize(tmp_path / "a", sorted(scores.iterdir()), settings("urmp", seconds=3.0), pieces=1)


def test_musicxml_scores_are_read_through_music21(tmp_path):
    import music21

    score = music21.stream.Score()
    for pitches in (["E5", "G5", "A5"], ["C3", "E3", "A2"]):
        part = music21.stream.Part()
        for p in pitches:
            part.append(music21.note.Note(p, quarterLength=1))
        score.insert(0, part)
    path = Path(score.write("musicxml", fp=tmp_path / "duet.musicxml"))
    parts = load_parts(path)
    assert [[n.pitch for n in p.notes] for p in parts] == [[76, 79, 81], [48, 52, 45]]
    assert parts[0].notes[1].start == pytest.approx(parts[0].notes[0].end, abs=0.05)


def test_split_is_a_stable_tenth():
    names = [Path(f"corpus/bach/bwv{n}.mxl") for n in range(400)]
    test = [p for p in names if split_of(p) == "test"]
    assert 20 <= len(test) <= 60
    assert split_of(Path("/elsewhere/bach/bwv7.mxl")) == split_of(Path("corpus/bach/bwv7.mxl"))


def test_default_soundfonts_include_the_bundled_one():
    assert TIM in map(str, default_soundfonts())


def test_cli_renders_and_reports(tmp_path, scores):
    result = vimss(
        "synth",
        tmp_path / "out",
        "--layout",
        "urmp",
        "--scores",
        scores,
        "--pieces",
        "1",
        "--seconds",
        "2",
        "--sample-rate",
        "11025",
        "--soundfont",
        TIM,
        "--split",
        "all",
    )
    assert result.exit_code == 0, result.output
    assert "1 item (" in result.stdout
    assert len(urmp_pieces(tmp_path / "out")[0]) == 1


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--scores", "missing.mid", "--pieces", "1"], "score not found: missing.mid"),
        (["--pieces", "1", "--soundfont", "nope.sf2"], "soundfont not found: nope.sf2"),
        (["--pieces", "1", "--min-parts", "3", "--max-parts", "2"], "min parts"),
        (["--layout", "stems", "--pieces", "1"], None),
    ],
)
def test_cli_errors(tmp_path, scores, args, needle):
    base = ["synth", tmp_path / "out"] + ([] if "--layout" in args else ["--layout", "urmp"])
    result = vimss(*base, *args)
    if needle is None:
        assert result.exit_code == 2  # typer's own usage error for a bad choice
    else:
        assert_one_line_error(result, needle)


def test_unusable_scores_are_reported(tmp_path):
    write_score(tmp_path / "solo.mid", [[60, 62, 64]])
    (tmp_path / "broken.mid").write_bytes(b"MThd not really")
    result = vimss(
        "synth",
        tmp_path / "out",
        "--layout",
        "urmp",
        "--scores",
        tmp_path,
        "--pieces",
        "1",
        "--soundfont",
        TIM,
        "--split",
        "all",
    )
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    *notes, error = result.stderr.strip().splitlines()
    assert error.startswith("error: no usable score")
    # Each score given up is said on one line as it happens, naming it once.
    assert sorted(notes) == [
        f"skipped {tmp_path.name}/broken.mid: cannot read score (EOFError)",
        f"skipped {tmp_path.name}/solo.mid: fewer than 2 sounding parts",
    ]


def test_a_figure_drawn_past_the_frames_edge_gets_a_box_inside_the_frame():
    from vimss_cli.synth.item import _rounded
    from vimss_cli.synth.video import FRAME_SIZE, place_figures

    figures = place_figures(["vn", "va", "cl", "tbn", "tba"], [(0.0,)] * 5, random.Random(0))
    assert figures[-1].box().x2 > FRAME_SIZE[0]  # the tuba reaches a pixel past the right edge
    recorded = [_rounded(f.box()) for f in figures]
    assert all(0 <= x1 < x2 <= FRAME_SIZE[0] and 0 <= y1 < y2 <= FRAME_SIZE[1] for x1, y1, x2, y2 in recorded)
    assert recorded[-1][2] == FRAME_SIZE[0]


def test_doubled_pieces_give_two_neighbouring_parts_one_instrument_the_upper_written_first(tmp_path, scores):
    out = tmp_path / "doubled"
    synthesize(out, sorted(scores.iterdir()), settings("urmp", min_parts=3, max_parts=3, doubled=1.0), pieces=3)
    pieces, skipped = urmp_pieces(out)
    assert len(pieces) == 3 and not skipped
    for piece in pieces:
        players = piece.line_up
        doubled = [a for a in set(players) if players.count(a) == 2]
        assert len(doubled) == 1 and len(set(players)) == 2  # one instrument twice, another once
        tracks = pretty_midi.PrettyMIDI(str(piece.folder / f"Sco_{piece.folder.name}.mid")).instruments
        means = [np.mean([n.pitch for n in t.notes]) for t, a in zip(tracks, players) if a == doubled[0]]
        assert means[0] > means[1]  # AuSep of the upper player first, as URMP's violin I
        mix = sf.read(piece.mix, dtype="int16")[0].astype(np.int32)
        stems = [sf.read(p, dtype="int16")[0].astype(np.int32) for paths in piece.sources.values() for p in paths]
        np.testing.assert_array_equal(mix, np.sum(stems, axis=0))


def test_the_upper_player_comes_first_by_the_pitch_it_sounds_after_each_part_s_octave_shift():
    """Each part of a pair gets its own octave shift, so the part written higher can sound lower:
    the pair is ordered by the pitch it sounds, which is what the players' stems are scored on."""
    checked = 0
    for seed in range(60):
        rng = random.Random(seed)
        parts = [
            Part(f"p{k}", tuple(Note(i * 0.5, i * 0.5 + 0.4, rng.randint(30, 100), 90) for i in range(12)))
            for k in range(4)
        ]
        voices = arrange(parts, random.Random(seed), settings("urmp", min_parts=3, max_parts=4, doubled=1.0))
        assert voices is not None
        players = [v.instrument for v in voices]
        pair = [v for v in voices if players.count(v.instrument) == 2]
        means = [np.mean([n.pitch for n in v.notes]) for v in pair]
        if len(means) == 2:  # no instrument plays two parts of some draws
            checked += 1
            assert means[0] >= means[1], seed
    assert checked >= 20


def test_no_doubling_draws_nothing_so_earlier_data_sets_render_the_same():
    parts = [Part(f"p{k}", tuple(Note(i * 0.5, i * 0.5 + 0.4, 40 + 12 * k, 90) for i in range(20))) for k in range(3)]
    plain = arrange(parts, random.Random(5), settings("urmp", min_parts=3, max_parts=3))
    assert arrange(parts, random.Random(5), settings("urmp", min_parts=3, max_parts=3, doubled=0.0)) == plain
    with pytest.raises(VimssError, match="--doubled is a share between 0 and 1"):
        settings("urmp", doubled=1.5)
