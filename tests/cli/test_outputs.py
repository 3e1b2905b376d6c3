"""What `vimss separate` leaves on disk: permissions, leftovers of earlier or killed runs, a full disk."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from tests.helpers import ROOT, assert_one_line_error, stem_files, vimss
from vimss_cli.atomic import remove_stale_partials, temporary_beside


def test_stems_get_the_permissions_of_the_umask(tmp_path, model_dir, mix_wav):
    old = os.umask(0o022)
    try:
        result = vimss("separate", mix_wav, "-i", "vn,vc", "-m", model_dir, "-o", tmp_path / "sep")
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    stems = list((tmp_path / "sep").rglob("*.wav"))
    assert stems and all(p.stat().st_mode & 0o777 == 0o644 for p in stems)


def test_a_new_run_replaces_the_stems_of_an_earlier_one(tmp_path, model_dir, mix_wav):
    out = tmp_path / "sep"
    assert vimss("separate", mix_wav, "-i", "vn,va,vc", "-m", model_dir, "-o", out, "--residual").exit_code == 0
    folder = next(out.glob("*/quartet"))
    (folder / "notes.txt").write_text("mine")
    assert vimss("separate", mix_wav, "-i", "vn,vc", "-m", model_dir, "-o", out).exit_code == 0
    assert stem_files(folder) == ["notes.txt", "vc.wav", "vn.wav"]  # va, residual gone


def test_partial_files_of_killed_runs_are_removed_and_live_ones_kept(tmp_path):
    target = tmp_path / "vn.wav"
    mine = temporary_beside(target)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".vn.wav.{dead.pid}-abc123.partial"
    stale.write_bytes(b"\0" * 100)
    other = tmp_path / ".someone-else.partial"
    other.write_bytes(b"")
    assert remove_stale_partials(tmp_path) == [stale]
    assert mine.exists() and other.exists() and not stale.exists()


def test_sigterm_mid_run_leaves_no_partial_files(tmp_path, model_dir):
    long_input = tmp_path / "long.wav"
    import numpy as np

    rng = np.random.default_rng(0)
    sf.write(long_input, (0.1 * rng.standard_normal((22050 * 600, 1))).astype(np.float32), 22050)
    out = tmp_path / "sep"
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vimss_cli",
            "separate",
            str(long_input),
            "-i",
            "vn,vc",
            "-m",
            str(model_dir),
            "-o",
            str(out),
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(out.rglob(".*.partial")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(out.rglob(".*.partial")), "the run never started writing"
    child.send_signal(signal.SIGTERM)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode != 0 and "Traceback" not in stderr
    assert not [p for p in out.rglob("*") if p.is_file()]  # neither stems nor partial files


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts a tiny tmpfs (root only)")
def test_a_full_disk_is_named(tmp_path, model_dir, mix_wav):
    out = tmp_path / "full"
    out.mkdir()
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        pytest.skip("no mount namespaces here")
    script = (
        f"mount -t tmpfs -o size=64k tmpfs {out} && exec {sys.executable} -m vimss_cli separate {mix_wav} "
        f"-i vn,vc -m {model_dir} -o {out}"
    )
    run = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "no space left on device" in lines[0] and str(out) in lines[0], run.stderr


def test_unwritable_output_is_still_one_line(tmp_path, model_dir, mix_wav):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert_one_line_error(
        vimss("separate", mix_wav, "-i", "vn,vc", "-m", model_dir, "-o", blocker / "x"), "cannot create"
    )


def test_ignores_other_files_named_like_partials(tmp_path):
    (tmp_path / "plain.partial").write_text("")
    assert remove_stale_partials(tmp_path) == [] and Path(tmp_path / "plain.partial").exists()


def _write(path: Path, wave) -> Path:
    sf.write(path, wave.T, 22050, subtype="FLOAT")
    return path


def test_non_finite_input_is_refused_before_any_work(tmp_path, model_dir):
    from tests.conftest import harmonic_mix

    wave = harmonic_mix(22050, 3.0, 2)
    wave[1, 22050 * 2] = float("nan")
    result = vimss("separate", _write(tmp_path / "nan.wav", wave), "-i", "vn,vc", "-m", model_dir, "-o", tmp_path / "o")
    assert_one_line_error(result, "NaN or infinite samples", "2.00 s")
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").rglob("*.wav"))


@pytest.mark.parametrize("mode", ["rescale", "clamp"])
def test_input_beyond_full_scale_is_rescaled_or_clamped_with_a_warning(tmp_path, model_dir, mode):
    import numpy as np

    from tests.conftest import harmonic_mix

    loud = _write(tmp_path / "loud.wav", 50 * harmonic_mix(22050, 3.0, 1) / 0.4)  # peaks at 50x full scale
    result = vimss(
        "separate", loud, "-i", "vn,vc", "-m", model_dir, "-o", tmp_path / mode, "--clip-mode", mode, "--residual"
    )
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr and "50.00x full scale" in result.stderr
    stems = [sf.read(p)[0] for p in sorted((tmp_path / mode).rglob("*.wav"))]
    clipped = np.mean([np.mean(np.abs(s) >= 0.9999) for s in stems])
    if mode == "rescale":
        assert clipped < 1e-3 and "-34.0 dB" in result.stderr
        # The stems still add up to the (scaled) input.
        total = np.sum(stems, axis=0)
        reference = sf.read(loud)[0] / 50.0
        assert np.abs(total - reference).max() < 2e-3
    else:
        assert clipped > 0.1 and "clipped" in result.stderr


def test_float_output_keeps_the_level_of_a_loud_input(tmp_path, model_dir):
    import numpy as np

    from tests.conftest import harmonic_mix

    loud = _write(tmp_path / "loud.wav", 5 * harmonic_mix(22050, 2.0, 1) / 0.4)
    result = vimss(
        "separate", loud, "-i", "vn,vc", "-m", model_dir, "-o", tmp_path / "f", "--bit-depth", "32f", "--residual"
    )
    assert result.exit_code == 0 and "warning" not in result.stderr
    total = np.sum([sf.read(p)[0] for p in (tmp_path / "f").rglob("*.wav")], axis=0)
    assert np.abs(total - sf.read(loud)[0]).max() < 1e-3


def test_inputs_of_the_same_name_do_not_overwrite_each_other(tmp_path, model_dir):
    from tests.conftest import harmonic_mix

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        _write(tmp_path / folder / "duet.wav", harmonic_mix(22050, 2.0, 1))
    same = vimss(
        "separate",
        tmp_path / "a" / "duet.wav",
        tmp_path / "b" / "duet.wav",
        "-i",
        "vn,vc",
        "-m",
        model_dir,
        "-o",
        tmp_path / "o",
    )
    assert_one_line_error(same, "would write the same stems", "{parent}-{track}")
    apart = vimss(
        "separate",
        tmp_path / "a" / "duet.wav",
        tmp_path / "b" / "duet.wav",
        "-i",
        "vn,vc",
        "-m",
        model_dir,
        "-o",
        tmp_path / "o",
        "--filename",
        "{parent}-{track}/{stem}.{ext}",
    )
    assert apart.exit_code == 0, apart.output
    assert sorted(str(p.relative_to(tmp_path / "o" / model_dir.name)) for p in (tmp_path / "o").rglob("*.wav")) == [
        "a-duet/vc.wav",
        "a-duet/vn.wav",
        "b-duet/vc.wav",
        "b-duet/vn.wav",
    ]
    flat = vimss(
        "separate",
        tmp_path / "a" / "duet.wav",
        "-i",
        "vn,vc",
        "-m",
        model_dir,
        "-o",
        tmp_path / "flat",
        "--filename",
        "{track}_{stem}.{ext}",
    )
    assert flat.exit_code == 0 and stem_files(tmp_path / "flat" / model_dir.name) == [
        "duet_vc.wav",
        "duet_vn.wav",
    ]


def test_two_runs_best_checkpoints_get_their_own_folders(tmp_path, model_dir, mix_wav):
    import shutil

    for run in ("run1", "run2"):
        shutil.copytree(model_dir, tmp_path / run / "best")
        assert (
            vimss("separate", mix_wav, "-i", "vn,vc", "-m", tmp_path / run / "best", "-o", tmp_path / "o").exit_code
            == 0
        )
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["run1-best", "run2-best"]


def test_a_model_value_that_looks_like_a_path_is_a_path(tmp_path, mix_wav, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    result = vimss("separate", mix_wav, "-i", "vn,vc", "-m", "runs/vimss", "-o", tmp_path / "o")
    assert_one_line_error(result, "model folder not found: runs/vimss")
