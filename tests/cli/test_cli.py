"""The CLI end to end (in-process through Typer's runner, on real files and a real tiny model)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from tests.conftest import harmonic_mix
from tests.helpers import ROOT, assert_one_line_error, stem_files, vimss
from tests.media import write_media


def test_separate_writes_one_file_per_instrument(tmp_path, model_dir, mix_wav):
    out = tmp_path / "sep"
    result = vimss("separate", mix_wav, "-i", "vn,Cello", "-m", model_dir, "-o", out, "--wiener-iterations", "1")
    assert result.exit_code == 0, result.output
    folder = out / "tiny-labels" / "quartet"
    assert stem_files(folder) == ["vc.wav", "vn.wav"]
    src = sf.info(mix_wav)
    for stem in folder.glob("*.wav"):
        info = sf.info(stem)
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (
            src.samplerate,
            src.channels,
            src.frames,
            "PCM_16",
        )


def test_residual_stems_add_up_to_the_input(tmp_path, model_dir, mix_wav):
    out = tmp_path / "sep"
    result = vimss(
        "separate",
        mix_wav,
        "-i",
        "vn,va,vc",
        "-m",
        model_dir,
        "-o",
        out,
        "--wiener-iterations",
        "0",
        "--residual",
        "--bit-depth",
        "32f",
    )
    assert result.exit_code == 0, result.output
    folder = out / "tiny-labels" / "quartet"
    total = sum(sf.read(folder / f"{n}.wav")[0] for n in ("vn", "va", "vc", "residual"))
    np.testing.assert_allclose(total, sf.read(mix_wav)[0], atol=1e-5)


def test_json_summary_and_several_inputs_and_formats(tmp_path, model_dir, mix_wav):
    video = write_media(tmp_path / "clip.mkv", harmonic_mix(44100, 2.0, 1), 44100)
    out = tmp_path / "sep"
    result = vimss(
        "separate",
        mix_wav,
        video,
        "-i",
        "vn,vc",
        "-m",
        model_dir,
        "-o",
        out,
        "--format",
        "flac",
        "--bit-depth",
        "24",
        "--json",
        "--segment",
        "1.0",
        "--overlap",
        "0.2",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["model"] == "tiny-labels" and summary["device"] == "cpu"
    assert [Path(t["input"]).name for t in summary["tracks"]] == ["quartet.wav", "clip.mkv"]
    for track in summary["tracks"]:
        assert sorted(track["stems"]) == ["vc", "vn"]
        assert all(Path(p).suffix == ".flac" and Path(p).exists() for p in track["stems"].values())
    assert sf.info(out / "tiny-labels" / "clip" / "vn.flac").channels == 1


def test_the_bundled_default_separates_with_no_network(tmp_path):
    """`vimss separate` without --model, as a fresh process with the Hub switched off (and,
    as root, in a network namespace with no network at all)."""
    listed = vimss("models", "--json")
    assert {"name": "vimss-labels", "source": "bundled"}.items() <= json.loads(listed.stdout)[0].items()
    command = [
        sys.executable,
        "-m",
        "vimss_cli",
        "separate",
        str(ROOT / "examples" / "duet.flac"),
        "-i",
        "vn,vc",
        "-o",
        str(tmp_path / "sep"),
    ]
    if os.geteuid() == 0 and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        command = ["unshare", "-n", *command]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    folder = tmp_path / "sep" / "vimss-labels" / "duet"
    assert stem_files(folder) == ["vc.wav", "vn.wav"]
    assert sf.info(folder / "vn.wav").samplerate == 44100
    # A video gets the same default; -m vimss-visual goes through the bundled detector, ResNet-50
    # and the bundled visual model.
    video = [*command[: command.index("separate") + 1], str(ROOT / "examples" / "quartet.mp4"), "-i", "vn,va,vc"]
    run = subprocess.run([*video, "-o", str(tmp_path / "sep"), "--json"], capture_output=True, text=True, env=env)
    assert run.returncode == 0 and json.loads(run.stdout)["model"] == "vimss-labels", run.stderr
    video += ["-o", str(tmp_path / "sep"), "--json", "-m", "vimss-visual"]
    # ultralytics' first run (no settings file yet) says nothing about its own `yolo` command
    env["YOLO_CONFIG_DIR"] = str(tmp_path / "ultralytics")
    run = subprocess.run(video, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "ultralytics" / "Ultralytics" / "settings.json").is_file() and "yolo settings" not in run.stderr
    assert json.loads(run.stdout)["model"] == "vimss-visual"
    stems = [sf.read(tmp_path / "sep" / "vimss-visual" / "quartet" / f"{i}.wav")[0] for i in ("vn", "va", "vc")]
    assert all(s.shape == stems[0].shape and np.abs(s).max() > 1e-3 for s in stems)


@pytest.fixture
def bad_inputs(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "corrupt.flac").write_bytes(b"fLaC" + b"\x13" * 200)
    (tmp_path / "notes.txt").write_text("not audio")
    write_media(tmp_path / "silent.mp4", None, 44100)
    cut = write_media(tmp_path / "cut.wav", harmonic_mix(22050, 2.0, 2), 22050)
    cut.write_bytes(cut.read_bytes()[:40000])
    return tmp_path


@pytest.mark.parametrize(
    "name, needle",
    [
        ("missing.wav", "input not found"),
        ("empty.wav", "input is empty"),
        ("corrupt.flac", "cannot decode"),
        ("cut.wav", "truncated"),
        ("notes.txt", "unsupported input format '.txt'"),
        ("silent.mp4", "has no audio stream"),
    ],
)
def test_bad_input_files(tmp_path, bad_inputs, model_dir, name, needle):
    out = tmp_path / "sep"
    result = vimss("separate", bad_inputs / name, "-i", "vn,vc", "-m", model_dir, "-o", out)
    assert_one_line_error(result, needle, name)
    assert not any(p.is_file() for p in out.rglob("*")) if out.exists() else True


@pytest.mark.parametrize(
    "args, needle",
    [
        (["-i", "vn,violin,vn"], "'vn' is given 3 times"),
        (["-i", "vn,celo"], "unknown instrument 'celo'; did you mean cello"),
        (["-i", "vn,vc", "--format", "flac", "--bit-depth", "32f"], "flac cannot hold 32-bit float"),
        (["-i", "vn,vc", "--overlap", "9"], "--overlap must be between"),
    ],
)
def test_bad_options(model_dir, mix_wav, args, needle, tmp_path):
    result = vimss("separate", mix_wav, *args, "-m", model_dir, "-o", tmp_path / "sep")
    assert_one_line_error(result, needle)
    assert not (tmp_path / "sep").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_a_gpu(model_dir, mix_wav):
    assert_one_line_error(vimss("separate", mix_wav, "-i", "vn,vc", "-m", model_dir, "-d", "cuda"), "no CUDA GPU")


def test_broken_checkpoint_through_the_cli(model_dir, mix_wav, tmp_path):
    (model_dir / "model.safetensors").write_bytes(b"garbage")
    assert_one_line_error(vimss("separate", mix_wav, "-i", "vn,vc", "-m", model_dir), "model.safetensors")


def test_unknown_model_name(mix_wav, tmp_path):
    assert_one_line_error(vimss("separate", mix_wav, "-i", "vn,vc", "-m", "not a model"), "unknown model 'not a model'")


def test_unwritable_output_folder(tmp_path, model_dir, mix_wav):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    result = vimss("separate", mix_wav, "-i", "vn,vc", "-m", model_dir, "-o", blocker)
    assert_one_line_error(result, "cannot create output folder")
    assert blocker.read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_output_folder(tmp_path, model_dir, mix_wav):
    locked = tmp_path / "locked"
    locked.mkdir(0o500)
    assert_one_line_error(vimss("separate", mix_wav, "-i", "vn,vc", "-m", model_dir, "-o", locked), "locked")


def test_console_script_runs_as_a_process(tmp_path, model_dir, mix_wav):
    """The installed entry point, as a user types it (no traceback on errors either)."""
    exe = Path(sys.executable).parent / "vimss"
    ok = subprocess.run(
        [exe, "separate", mix_wav, "-i", "vn,vc", "-m", model_dir, "-o", tmp_path / "o"], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "o" / "tiny-labels" / "quartet" / "vn.wav").is_file()
    bad = subprocess.run(
        [exe, "separate", tmp_path / "nope.wav", "-i", "vn,vc", "-m", model_dir], capture_output=True, text=True
    )
    assert bad.returncode == 1 and bad.stderr.strip() == f"error: input not found: {tmp_path / 'nope.wav'}"


def test_bundled_default_model_is_used_without_model_option(monkeypatch, tmp_path, mix_wav):
    """The bundled-model path: a checkpoint in the package's models folder becomes the default."""
    from tests.conftest import tiny_model
    from vimss_cli.nets import checkpoints
    from vimss_cli.nets.checkpoints import DEFAULT_MODEL, save_pretrained

    bundle = tmp_path / "bundle"
    save_pretrained(tiny_model(conditioning="label-multiply"), bundle / DEFAULT_MODEL, half=True)
    monkeypatch.setattr(checkpoints, "bundled_dir", lambda: bundle)
    listed = vimss("models", "--json")
    assert [e["name"] for e in json.loads(listed.stdout) if e["source"] == "bundled"] == [DEFAULT_MODEL]
    assert "(default)" in vimss("models").stdout
    result = vimss("separate", mix_wav, "-i", "vn,vc", "-o", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["source"] == "bundled"
    assert (tmp_path / "out" / DEFAULT_MODEL / "quartet" / "vn.wav").is_file()
    # and by name
    assert vimss("separate", mix_wav, "-i", "vc", "-m", DEFAULT_MODEL, "-o", tmp_path / "out").exit_code == 0


def test_json_output_carries_a_fatal_error(tmp_path, mix_wav):
    result = vimss("separate", mix_wav, "-i", "vn,vc", "-m", "not a model", "--json", "-o", tmp_path)
    assert result.exit_code == 1
    assert "unknown model 'not a model'" in json.loads(result.stdout)["error"]


def test_help_version_and_list_models(tmp_path):
    short = vimss("separate", "-h")
    assert short.exit_code == 0 and "separate [OPTIONS] INPUTS..." in short.stdout
    assert "<bool>" not in short.stdout and "{inputs}" not in short.stdout
    assert "Where the network runs" in short.stdout and "5.944" in short.stdout
    from vimss_cli import __version__

    assert vimss("--version").stdout.strip() == f"vimss {__version__}"
    assert "vimss-labels" in vimss("--list-models").stdout


@pytest.mark.parametrize(
    ("modules", "heavy"),
    [
        ("vimss_cli, vimss_cli.cli", {"torch", "torchvision", "torchaudio", "ultralytics", "av"}),  # vimss --help
        ("vimss_cli.nets.family, vimss_cli.nets.visual", {"av", "ultralytics", "PIL"}),  # networks, no video code
    ],
)
def test_modules_import_without_what_they_do_not_need(modules, heavy):
    code = f"import sys, {modules}; print(sorted(set({sorted(heavy)}) & set(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"
