"""Which stems `vimss separate` writes: --stems, --two-stems, and one named instrument."""

import numpy as np
import soundfile as sf

from tests.helpers import ROOT, assert_one_line_error, stem_files, vimss

DUET = ROOT / "examples" / "duet.flac"  # violin and cello


def _read(folder, name):
    return sf.read(folder / f"{name}.wav")[0]


def test_one_named_instrument_is_separated_from_the_rest_not_given_the_mix(tmp_path):
    result = vimss("separate", DUET, "-i", "vn", "-o", tmp_path, "--bit-depth", "32f")
    assert result.exit_code == 0, result.output
    assert "warning: only vn is named" in result.stderr and "--two-stems vn" in result.stderr
    folder = tmp_path / "vimss-labels" / "duet"
    assert stem_files(folder) == ["no_vn.wav", "vn.wav"]
    mix = sf.read(DUET)[0]
    vn, rest = _read(folder, "vn"), _read(folder, "no_vn")
    np.testing.assert_allclose(vn + rest, mix, atol=1e-5)  # the two add up to the input
    assert np.corrcoef(vn.ravel(), mix.ravel())[0, 1] < 0.95  # was 0.9997: the mix itself


def test_two_stems_with_every_player_named(tmp_path):
    result = vimss("separate", DUET, "-i", "vn,vc", "--two-stems", "violin", "-o", tmp_path, "--bit-depth", "32f")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "vimss-labels" / "duet"
    assert stem_files(folder) == ["no_vn.wav", "vn.wav"]
    np.testing.assert_allclose(_read(folder, "vn") + _read(folder, "no_vn"), sf.read(DUET)[0], atol=1e-5)


def test_stems_writes_only_the_ones_asked_for(tmp_path):
    assert vimss("separate", DUET, "-i", "vn,vc", "-o", tmp_path / "all").exit_code == 0
    result = vimss("separate", DUET, "-i", "vn,vc", "--stems", "cello", "-o", tmp_path / "some")
    assert result.exit_code == 0, result.output
    some = tmp_path / "some" / "vimss-labels" / "duet"
    assert stem_files(some) == ["vc.wav"]
    np.testing.assert_array_equal(_read(some, "vc"), _read(tmp_path / "all" / "vimss-labels" / "duet", "vc"))


def test_stem_choices_outside_what_plays_are_errors(tmp_path):
    assert_one_line_error(vimss("separate", DUET, "-i", "vn,vc", "--two-stems", "va", "-o", tmp_path), "--two-stems va")
    assert_one_line_error(
        vimss("separate", DUET, "-i", "vn,vc", "--stems", "residual", "-o", tmp_path), "--stems residual"
    )


def test_opus_and_aac_inputs_folders_and_mp3_output(tmp_path, model_dir):
    from tests.conftest import harmonic_mix
    from tests.media import write_media

    folder = tmp_path / "inputs"
    (folder / "more").mkdir(parents=True)
    write_media(folder / "a.opus", harmonic_mix(48000, 2.0, 2), 48000)
    write_media(folder / "more" / "b.aac", harmonic_mix(44100, 2.0, 1), 44100)
    (folder / "notes.txt").write_text("not audio")
    result = vimss("separate", folder, "-i", "vn,vc", "-m", model_dir, "-o", tmp_path / "out", "--format", "mp3")
    assert result.exit_code == 0, result.output
    stems = sorted(p.relative_to(tmp_path / "out" / model_dir.name) for p in (tmp_path / "out").rglob("*.mp3"))
    assert [str(p) for p in stems] == ["a/vc.mp3", "a/vn.mp3", "b/vc.mp3", "b/vn.mp3"]
    info = sf.info(tmp_path / "out" / model_dir.name / "a" / "vn.mp3")
    assert info.samplerate == 48000 and info.channels == 2 and abs(info.frames - 2 * 48000) < 48000 * 0.05
    (tmp_path / "empty").mkdir()
    assert_one_line_error(vimss("separate", tmp_path / "empty", "-i", "vn,vc", "-m", model_dir), "holds no audio")


def test_instruments_that_do_not_play_are_named_with_a_warning(tmp_path):
    result = vimss("separate", DUET, "-i", "ob,hn", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    assert "the named instruments (ob,hn) claim only" in result.stderr and "--residual" in result.stderr
    right = vimss("separate", DUET, "-i", "vn,vc", "-o", tmp_path)
    assert right.exit_code == 0 and "claim only" not in right.stderr
    kept_apart = vimss("separate", DUET, "-i", "ob,hn", "--residual", "-o", tmp_path)
    assert kept_apart.exit_code == 0 and "claim only" not in kept_apart.stderr
