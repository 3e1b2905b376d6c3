"""A new user's second round (issue 28): short files, folders, batches, reruns, templates, flags,
usage errors and pipes, through the real entry point on files the tests write."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import harmonic_mix
from tests.helpers import ROOT, assert_one_line_error, stem_files, vimss
from tests.media import write_media
from vimss_cli.stems import MANIFEST


def write(path: Path, frames: int, sr: int = 44100) -> Path:
    sf.write(path, 0.3 * harmonic_mix(sr, frames / sr, 1)[0], sr)
    return path


def test_an_input_of_a_few_samples_separates_to_its_exact_length(tmp_path, model_dir):
    short = write(tmp_path / "blip.wav", 100)
    result = vimss("separate", short, "-i", "vn,vc", "-m", model_dir, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "tiny-labels" / "blip"
    assert [sf.info(folder / f).frames for f in stem_files(folder)] == [100, 100]


def test_one_bad_input_in_a_batch_stops_no_other_and_the_end_counts_the_failures(tmp_path, model_dir):
    good = [write(tmp_path / "a.wav", 100), write(tmp_path / "c.wav", 30000)]
    (tmp_path / "b.flac").write_bytes(b"fLaC" + bytes(300))  # corrupt
    result = vimss(
        "separate", good[0], tmp_path / "b.flac", good[1], "-i", "vn,vc", "-m", model_dir, "-o", tmp_path / "o"
    )
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error:") and "b.flac" in lines[0] and lines[-1] == "error: 1 of 3 inputs failed"
    models = tmp_path / "o" / "tiny-labels"
    assert sorted(p.name for p in models.iterdir()) == ["a", "c"]  # no empty folder for the bad one


def test_a_folder_input_skips_what_vimss_wrote_in_it(tmp_path, model_dir):
    concert = tmp_path / "concert"
    concert.mkdir()
    write(concert / "duet.wav", 30000)
    os.chdir(concert)
    try:
        for _ in range(3):
            result = vimss("separate", ".", "-i", "vn,vc", "-m", model_dir)
            assert result.exit_code == 0, result.output
            assert result.stdout.count(" -> ") == 1  # only duet.wav, never its own stems
        elsewhere = vimss("separate", ".", "-i", "vn,vc", "-m", model_dir, "-o", tmp_path / "other")
        assert elsewhere.exit_code == 0 and elsewhere.stdout.count(" -> ") == 1  # stems with a manifest skipped too
    finally:
        os.chdir(ROOT)


def test_a_rerun_removes_only_the_stems_vimss_wrote(tmp_path, model_dir, mix_wav):
    out = tmp_path / "sep"
    assert vimss("separate", mix_wav, "-i", "vn,vc,db", "-m", model_dir, "-o", out).exit_code == 0
    folder = out / "tiny-labels" / "quartet"
    assert json.loads((folder / MANIFEST).read_text())["stems"] == ["db.wav", "vc.wav", "vn.wav"]
    (folder / "va.wav").write_bytes(b"the user's own take")  # a stem name vimss did not write here
    assert vimss("separate", mix_wav, "-i", "vn,vc", "-m", model_dir, "-o", out).exit_code == 0
    assert stem_files(folder) == ["va.wav", "vc.wav", "vn.wav"]  # db (vimss') gone, va (theirs) kept
    assert (folder / "va.wav").read_bytes() == b"the user's own take"


def test_a_filename_template_that_leaves_the_output_folder_is_refused(tmp_path, model_dir, mix_wav):
    out = tmp_path / "o"
    result = vimss("separate", mix_wav, "-i", "vn,vc", "-m", model_dir, "-o", out, "--filename", "../../x/{stem}.{ext}")
    assert_one_line_error(result, "writes outside --out")
    assert not (tmp_path / "x").exists() and not out.exists()


def test_same_name_inputs_get_a_template_that_tells_them_apart(tmp_path, model_dir):
    audio = 0.3 * harmonic_mix(22050, 1.5, 1)
    inputs = [write_media(tmp_path / "t.opus", audio, 48000), write_media(tmp_path / "t.aac", audio, 48000)]
    clash = vimss("separate", *inputs, "-i", "vn,vc", "-m", model_dir, "-o", tmp_path / "o")
    assert_one_line_error(clash, "would write the same stems", "{parent}-{trackext}/{stem}.{ext}")
    hint = clash.stderr.split("give --filename '")[1].split("'")[0]
    fixed = vimss("separate", *inputs, "-i", "vn,vc", "-m", model_dir, "-o", tmp_path / "o", "--filename", hint)
    assert fixed.exit_code == 0, fixed.output
    assert sorted(p.name for p in (tmp_path / "o" / "tiny-labels").iterdir()) == [
        f"{tmp_path.name}-t.aac",
        f"{tmp_path.name}-t.opus",
    ]


def test_residual_with_stems_is_written_and_two_stems_with_stems_refused(tmp_path, model_dir, mix_wav):
    out = tmp_path / "o"
    result = vimss("separate", mix_wav, "-i", "vn,va,vc", "--stems", "vn", "--residual", "-m", model_dir, "-o", out)
    assert result.exit_code == 0, result.output
    assert stem_files(out / "tiny-labels" / "quartet") == ["residual.wav", "vn.wav"]
    both = vimss("separate", mix_wav, "-i", "vn,vc", "--two-stems", "vn", "--stems", "vc", "-m", model_dir, "-o", out)
    assert_one_line_error(both, "--two-stems", "--stems")


def test_a_flag_given_a_value_says_it_takes_none(tmp_path, model_dir, mix_wav):
    result = vimss("separate", mix_wav, "--residual", "true", "-i", "vn,vc", "-m", model_dir, "-o", tmp_path / "o")
    assert_one_line_error(result, "'true' is no input", "take no value")
    assert not (tmp_path / "o").exists()  # said before anything is separated


def test_bit_depth_with_mp3_is_refused_and_the_mp3_clip_note_names_mp3(tmp_path, model_dir):
    loud = tmp_path / "loud.wav"
    sf.write(loud, 1.5 * harmonic_mix(22050, 2.0, 1)[0] / 0.4, 22050, subtype="FLOAT")
    refused = vimss("separate", loud, "-i", "vn,vc", "--format", "mp3", "--bit-depth", "24", "-m", model_dir)
    assert_one_line_error(refused, "--bit-depth does not apply to mp3")
    result = vimss("separate", loud, "-i", "vn,vc", "--format", "mp3", "-m", model_dir, "-o", tmp_path / "o")
    assert result.exit_code == 0 and "to fit mp3 output" in result.stderr and "-bit output" not in result.stderr


def test_help_shows_flags_without_a_value():
    for args in ([], ["separate"]):
        assert "<bool>" not in vimss(*args, "--help").stdout


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vimss_cli", *args], capture_output=True, text=True, **kwargs)


def test_a_usage_error_is_one_line_and_json_with_json(tmp_path):
    plain = run_cli("separate", str(tmp_path / "x.wav"), "--overlap", "half")
    assert plain.returncode == 2 and plain.stdout == ""
    lines = plain.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Invalid value for '--overlap'")
    assert lines[0].endswith("(see vimss separate --help)")
    as_json = run_cli("separate", str(tmp_path / "x.wav"), "--overlap", "half", "--json")
    assert as_json.returncode == 2 and json.loads(as_json.stdout)["error"].startswith("Invalid value for '--overlap'")


def test_a_reader_that_closes_the_pipe_early_ends_the_run_without_a_word():
    reader = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.buffer.read(1)"], stdin=subprocess.PIPE)
    assert reader.stdin is not None
    run = subprocess.run(
        [sys.executable, "-c", "import sys, vimss_cli.cli as c; sys.argv = ['vimss', 'models', '--json']; c.main()"],
        stdout=reader.stdin,
        stderr=subprocess.PIPE,
        text=True,
    )
    reader.stdin.close()
    reader.wait()
    assert run.stderr == "" and run.returncode in (0, 141)


def test_a_hub_id_with_no_name_resolution_fails_at_once_with_the_offline_hint(tmp_path, mix_wav):
    if os.geteuid() != 0 or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs a network namespace (root)")
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf")}
    env.pop("HF_HUB_OFFLINE", None)
    command = ["unshare", "-n", sys.executable, "-m", "vimss_cli", "separate", str(mix_wav), "-i", "vn,vc"]
    run = subprocess.run(
        [*command, "-m", "org/absent", "-o", str(tmp_path / "o")], capture_output=True, text=True, env=env, timeout=60
    )
    assert run.returncode == 1 and "cannot resolve" in run.stderr and "HF_HUB_OFFLINE=1" in run.stderr


def test_evaluate_refuses_stems_that_are_not_the_mix_s_parts_and_says_why_per_piece(tmp_path):
    from vimss_cli.evaluation.tone_dataset import write_dataset

    data = write_dataset(tmp_path / "urmp")
    pieces = sorted(p for p in data.iterdir() if p.is_dir())
    short = next(pieces[0].glob("AuSep_1_*"))
    wave, sr = sf.read(short)
    sf.write(short, wave[: len(wave) // 2], sr)  # half as long as its mix
    other = next(pieces[2].glob("AuSep_2_*"))  # pieces[1] plays one instrument: skipped anyway
    wave, sr = sf.read(other)
    sf.write(other, np.random.default_rng(0).standard_normal(len(wave)) * 0.1, sr)  # not the mix's part
    result = vimss("evaluate", data, "-o", tmp_path / "ev")
    assert result.exit_code == 0, result.output
    assert f"skipped {pieces[0].name}: {short.name} lasts" in result.stderr
    assert f"skipped {pieces[2].name}: its stems do not add up to its mix" in result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--segment", "0"], "--segment must be at least"),
        (["--segment", "-2"], "--segment must be at least"),
        (["--workers", "-3"], "--workers must be at least 1"),
    ],
)
def test_evaluate_checks_its_numbers(tmp_path, args, needle):
    from vimss_cli.evaluation.tone_dataset import write_dataset

    assert_one_line_error(vimss("evaluate", write_dataset(tmp_path / "urmp"), *args), needle)


def test_a_folder_whose_every_piece_is_broken_says_why(tmp_path):
    piece = tmp_path / "urmp" / "01_Tune_vn_vc"
    piece.mkdir(parents=True)
    (piece / "AuSep_1_vn_01_Tune.wav").write_bytes(b"")
    assert_one_line_error(vimss("evaluate", tmp_path / "urmp"), "01_Tune_vn_vc: no AuMix file")
