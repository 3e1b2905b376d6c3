"""`vimss train` with tiny configurations on generated Solos- and URMP-layout data."""

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors.torch import load_file

from tests.helpers import assert_one_line_error, stem_files, vimss
from vimss_cli.constants import SEGMENT_SAMPLES
from vimss_cli.dsp.spectral import stft
from vimss_cli.errors import VimssError
from vimss_cli.evaluation.tone_dataset import write_dataset, write_piece
from vimss_cli.evaluation.urmp import urmp_pieces
from vimss_cli.instruments import index, instrument
from vimss_cli.nets.checkpoints import load_model, load_recognizer, load_splitter
from vimss_cli.nets.config import ModelConfig
from vimss_cli.nets.family import build_model
from vimss_cli.training.config import TrainConfig
from vimss_cli.training.data import PieceSegments, PlayerPairs
from vimss_cli.training.loop import train
from vimss_cli.training.losses import mask_loss
from vimss_cli.training.sets import find_recordings, training_data, validation_set
from vimss_cli.training.state import warm_start
from vimss_cli.training.validation import validate

TINY_MODEL = {"channels": (4, 8, 16), "conditioning": "label-multiply", "context": "labels"}


def tiny(**overrides) -> TrainConfig:
    model = ModelConfig(**{**TINY_MODEL, **overrides.pop("model", {})})
    return TrainConfig(
        **{
            "model": model,
            "steps": 4,
            "batch_size": 2,
            "validate_every": 2,
            "validation_size": 4,
            "max_sources": 3,
            **overrides,
        }
    )


@pytest.fixture(scope="module")
def solos(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("solos")
    rng = np.random.default_rng(0)
    t = np.arange(11025 * 8) / 11025
    for folder, f0 in (("Violin", 660.0), ("Cello", 130.0), ("Flute", 880.0)):
        (root / folder).mkdir()
        wave = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 5)) * (1 + 0.3 * np.sin(2 * np.pi * t))
        sf.write(root / folder / "rec.flac", 0.3 * wave + 1e-3 * rng.standard_normal(len(t)), 11025)
    return root


@pytest.fixture(scope="module")
def urmp(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("urmp"))


def test_ideal_ratio_masks_have_zero_loss_and_others_do_not():
    sources = torch.randn(2, 13, 4096) * (torch.arange(13) < 3).view(1, 13, 1)
    spec = stft(sources).abs()
    mix = stft(sources.sum(1)).abs()
    ideal = spec / spec.sum(1, keepdim=True).clamp_min(1e-8)
    assert mask_loss(ideal, spec, mix, binary=False) == 0
    assert mask_loss(torch.full_like(ideal, 0.5), spec, mix, binary=False) > 0.01
    ibm = ((spec == spec.amax(1, keepdim=True)) & (spec > 0)).float()
    assert mask_loss(ibm, spec, mix, binary=True) < 1e-4 < mask_loss(1 - ibm, spec, mix, binary=True)


def test_the_loss_skips_absent_instruments_without_changing_its_value_or_gradients():
    """A label-gated model's training loss only transforms and scores the instruments that
    play; the loss and every gradient equal those over all 13 slots."""
    from vimss_cli.training.data import Example
    from vimss_cli.training.step import batch_loss, source_magnitudes

    torch.manual_seed(0)
    labels = torch.zeros(3, 13)
    labels[0, [0, 2]] = labels[1, [1, 4, 7]] = labels[2, [0, 1, 2, 3]] = 1
    sources = torch.randn(3, 13, 255 * 16) * labels[:, :, None]  # 16 frames
    batch = Example(sources.sum(1), sources, labels)
    # A subset of the slots is transformed: another batch shape, equal to float precision.
    torch.testing.assert_close(source_magnitudes(batch), stft(sources).abs(), rtol=1e-6, atol=1e-6)
    model = build_model(ModelConfig(**TINY_MODEL)).eval()  # eval: no dropout draws between the passes
    skipping, _, _ = batch_loss(model, batch, model.config)
    skipping.backward()
    fast = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    spec = stft(batch.mix)
    full = mask_loss(model(spec.abs(), labels), stft(sources).abs(), spec.abs(), binary=False)
    full.backward()
    torch.testing.assert_close(skipping, full)
    for a, b in zip(fast, (p.grad for p in model.parameters())):
        torch.testing.assert_close(a, b)


def test_piece_segments_are_aligned_sources_of_the_piece(urmp):
    pieces = urmp_pieces(urmp)[0]
    data = PieceSegments(pieces, size=6, seed=0)
    for i in range(len(data)):
        mix, sources, labels, _ = data[i]
        assert mix.shape == (SEGMENT_SAMPLES,) and sources.shape == (13, SEGMENT_SAMPLES)
        torch.testing.assert_close(sources.sum(0), mix, atol=1e-5, rtol=0)
        assert mix.abs().max() == pytest.approx(1.0)
        present = {k for k in range(13) if labels[k]}
        assert present in [{index(instrument(a)) for a in p.instruments} for p in pieces]
        assert all(sources[k].abs().max() == 0 for k in range(13) if k not in present)
    assert torch.equal(data[3].mix, PieceSegments(pieces, size=6, seed=0)[3].mix)


def test_training_writes_checkpoints_and_a_log_that_separate_can_use(tmp_path, solos, urmp):
    result = train([solos, urmp], tmp_path / "run", tiny(), workers=0)
    assert np.isfinite(result.loss) and np.isfinite(result.si_sdri)
    with (tmp_path / "run" / "log.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [2, 4]
    assert all(float(r["val_loss"]) > 0 for r in rows)
    assert all(r["val_si_sdri_folds"] == "" for r in rows)  # one validation set: no folds
    for which in ("latest", "best"):
        loaded = load_model(str(tmp_path / "run" / which))
        assert loaded.model.config.conditioning == "label-multiply"
    assert json.loads((tmp_path / "run" / "train_config.json").read_text())["steps"] == 4
    stems = tmp_path / "stems"
    cli = vimss("separate", solos / "Violin" / "rec.flac", "-i", "vn,vc", "-m", tmp_path / "run" / "best", "-o", stems)
    assert cli.exit_code == 0, cli.output
    assert stem_files(stems / "run-best" / "rec") == ["vc.wav", "vn.wav"]  # named for its run


def test_several_validation_folders_are_folds_and_the_run_is_chosen_on_their_mean(tmp_path, solos, urmp):
    config = tiny()
    result = train([solos], tmp_path / "run", config, val_data=[solos, urmp], workers=0)
    assert len(result.folds) == 2 and result.folds[0] != result.folds[1]
    assert result.si_sdri == pytest.approx(sum(result.folds) / 2)
    # Each fold's score is its folder's own validation of the final weights, not a pooled share.
    model = load_model(str(tmp_path / "run" / "latest")).model
    for folder, score in zip((solos, urmp), result.folds, strict=True):
        alone = validate(model, validation_set(find_recordings([folder]), config), config, torch.device("cpu"))
        assert alone.si_sdri == pytest.approx(score, abs=1e-5)
    with (tmp_path / "run" / "log.csv").open() as f:
        last = list(csv.DictReader(f))[-1]
    assert [float(v) for v in last["val_si_sdri_folds"].split()] == pytest.approx(result.folds, abs=1e-3)
    assert float(last["val_si_sdri"]) == pytest.approx(result.si_sdri, abs=1e-3)


def test_report_folders_are_validated_and_logged_but_do_not_choose_the_run(tmp_path, solos, urmp):
    config = tiny()
    result = train([solos], tmp_path / "run", config, val_data=[solos], report_data=[urmp], workers=0)
    model = load_model(str(tmp_path / "run" / "latest")).model
    alone = validate(model, validation_set(find_recordings([urmp]), config), config, torch.device("cpu"))
    assert result.report == pytest.approx((alone.si_sdri,), abs=1e-5)
    chosen = validate(model, validation_set(find_recordings([solos]), config), config, torch.device("cpu"))
    assert result.si_sdri == pytest.approx(chosen.si_sdri, abs=1e-5)  # the mean is over --val-data only
    with (tmp_path / "run" / "log.csv").open() as f:
        last = list(csv.DictReader(f))[-1]
    assert float(last["val_si_sdri_report"]) == pytest.approx(alone.si_sdri, abs=1e-3)


def test_data_shares_draw_each_folder_apart_in_its_share(tmp_path, solos):
    other = tmp_path / "other"
    for folder in ("Oboe", "Horn"):
        (other / folder).mkdir(parents=True)
        sf.write(other / folder / "rec.flac", 0.3 * np.sin(np.arange(11025 * 8) * 0.1), 11025)
    found = find_recordings([solos, other])

    def played(config: TrainConfig) -> list[set[int]]:
        data = training_data(found, config, 40, 0, 3)
        return [set(torch.nonzero(data[i].labels).flatten().tolist()) for i in range(40)]

    first, second = {index(instrument(a)) for a in ("vn", "vc", "fl")}, {index(instrument(a)) for a in ("ob", "hn")}
    assert all(c <= first for c in played(tiny(data_shares=(1.0, 0.0))))
    assert all(c <= second for c in played(tiny(data_shares=(0.0, 1.0))))
    pooled = played(tiny())
    assert any(c & first and c & second for c in pooled)  # pooled folders mix with each other
    with pytest.raises(VimssError, match="2 shares for 1 --data folders"):
        train([solos], tmp_path / "run", tiny(data_shares=(1.0, 1.0)), workers=0)
    assert not (tmp_path / "run").exists()


def test_snapshots_keep_each_validations_weights_for_averaging(tmp_path, solos, urmp):
    train([solos], tmp_path / "run", tiny(steps=6, snapshots=True), workers=0)
    kept = tmp_path / "run" / "snapshots"
    assert sorted(int(p.name) for p in kept.iterdir()) == [2, 4, 6]
    last = load_file(kept / "6" / "model.safetensors")
    latest = load_file(tmp_path / "run" / "latest" / "model.safetensors")
    assert all(torch.equal(last[k], latest[k]) for k in latest)
    key = "encoder.0.conv.weight"
    assert not torch.equal(load_file(kept / "2" / "model.safetensors")[key], last[key])
    train([solos], tmp_path / "plain", tiny(steps=2), workers=0)
    assert not (tmp_path / "plain" / "snapshots").exists()
    # A resumed run may start keeping snapshots; any change to the trajectory is refused.
    train([solos], tmp_path / "plain", tiny(steps=4, snapshots=True), resume=True, workers=0)
    assert [p.name for p in (tmp_path / "plain" / "snapshots").iterdir()] == ["4"]
    with pytest.raises(VimssError, match=r"different config \(lr, steps\); only snapshots and steps may change"):
        train([solos], tmp_path / "plain", tiny(steps=6, lr=1e-4, snapshots=True), resume=True, workers=0)
    script = Path(__file__).parents[2] / "scripts" / "choose_average.py"
    out = subprocess.run(
        [sys.executable, script, tmp_path / "run", "--val-data", solos, "--val-data", urmp],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert [line.split()[0] for line in out.splitlines()[:4]] == ["2", "4", "6", "4+6"]
    assert all("(folds " in line for line in out.splitlines()[:5])  # each candidate's score per fold
    chosen = json.loads((tmp_path / "run" / "averaged" / "choice.json").read_text())
    assert set(chosen) == {"2", "4", "6", "4+6", "2+4+6"} and load_model(str(tmp_path / "run" / "averaged"))


def test_resume_continues_exactly_where_the_run_stopped(tmp_path, solos):
    config = tiny(steps=6, noise=0.5, model={"dropout": 0.5})
    train([solos], tmp_path / "whole", config, workers=0)
    train([solos], tmp_path / "parts", tiny(steps=2, noise=0.5, model={"dropout": 0.5}), workers=0)
    train([solos], tmp_path / "parts", config, resume=True, workers=0)
    assert json.loads((tmp_path / "parts" / "train_config.json").read_text())["steps"] == 6  # extended, and says so
    whole = load_file(tmp_path / "whole" / "latest" / "model.safetensors")
    parts = load_file(tmp_path / "parts" / "latest" / "model.safetensors")
    assert whole.keys() == parts.keys()
    for key in whole:
        torch.testing.assert_close(parts[key], whole[key], rtol=0, atol=0, msg=key)
    logs = [(tmp_path / run / "log.csv").read_text().splitlines() for run in ("whole", "parts")]
    strip_time = [[",".join(line.split(",")[:-1]) for line in log] for log in logs]
    assert strip_time[0] == strip_time[1]


def test_a_run_saved_before_newer_config_fields_resumes(tmp_path, solos):
    train([solos], tmp_path / "run", tiny(steps=2), workers=0)
    state = tmp_path / "run" / "latest" / "training_state.json"
    meta = json.loads(state.read_text())
    del meta["train_config"]["init"], meta["train_config"]["model"]["visual_pooling"]  # fields added later
    state.write_text(json.dumps(meta))
    train([solos], tmp_path / "run", tiny(steps=4), resume=True, workers=0)
    assert json.loads(state.read_text())["state"]["step"] == 4


def test_init_fine_tunes_from_a_models_weights_and_checks_its_config(tmp_path, solos):
    train([solos], tmp_path / "first", tiny(), workers=0)
    start = load_model(str(tmp_path / "first" / "best")).model
    # Adam moves each weight by about lr per step: with lr 1e-12 the run keeps its starting weights.
    for run, init in (("tuned", str(tmp_path / "first" / "best")), ("fresh", "")):
        train([solos], tmp_path / run, tiny(steps=2, lr=1e-12, init=init), workers=0)
    tuned, fresh = (load_model(str(tmp_path / run / "latest")).model for run in ("tuned", "fresh"))
    for (name, weight), tuned_weight in zip(start.named_parameters(), tuned.parameters()):
        torch.testing.assert_close(tuned_weight, weight, rtol=0, atol=1e-9, msg=name)
    assert any(not torch.allclose(f, w) for f, w in zip(fresh.parameters(), start.parameters()))
    assert json.loads((tmp_path / "tuned" / "train_config.json").read_text())["init"] == str(
        tmp_path / "first" / "best"
    )
    with pytest.raises(VimssError, match=r"model config differs"):
        train([solos], tmp_path / "other", tiny(init=str(tmp_path / "first" / "best"), model={"channels": (4, 8)}))
    result = vimss(
        "train",
        "--data",
        str(solos),
        "--init",
        str(tmp_path / "first" / "best"),
        "--out",
        str(tmp_path / "cli"),
        "--steps",
        "2",
        "--validate-every",
        "2",
        "--batch-size",
        "2",
        "--workers",
        "0",
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "cli" / "train_config.json").read_text())["model"]["channels"] == [4, 8, 16]


def test_init_warm_starts_another_conditioning_from_the_shared_unet(tmp_path, solos):
    train([solos], tmp_path / "labels", tiny(), workers=0)
    start = load_model(str(tmp_path / "labels" / "best")).model
    unconditioned = {"conditioning": "none", "context": "none"}
    train(
        [solos],
        tmp_path / "none",
        tiny(steps=2, lr=1e-12, init=str(tmp_path / "labels" / "best"), model=unconditioned),
        workers=0,
    )
    tuned = load_model(str(tmp_path / "none" / "latest")).model
    assert tuned.config.context == "none"
    for name, weight in tuned.named_parameters():  # (batch-norm statistics move at any learning rate)
        torch.testing.assert_close(weight, start.get_parameter(name), rtol=0, atol=1e-9, msg=name)
    # A visual final-multiply model takes the U-Net; its classifier and trunk are its own.
    visual = build_model(
        ModelConfig(
            **{**TINY_MODEL, "conditioning": "final-multiply", "context": "visual", "backbone_weights": "random"}
        )
    )
    classifier = visual.instrument_classifier.weight.detach().clone()
    assert warm_start(visual, start, "labels") is False
    for name, weight in start.state_dict().items():
        torch.testing.assert_close(visual.state_dict()[name], weight, rtol=0, atol=0, msg=name)
    assert torch.equal(visual.instrument_classifier.weight, classifier)
    with pytest.raises(VimssError, match=r"model config differs .* in channels"):
        warm_start(build_model(ModelConfig(**{**TINY_MODEL, "channels": (4, 8)})), start, "labels")


def test_a_visual_model_trains_on_synthetic_videos_with_cached_features(tmp_path):
    from tests.media import synth_with_video

    for layout in ("urmp", "solos"):
        synth_with_video(tmp_path, layout)
    config = tiny(
        model={"conditioning": "film-final", "context": "labels+visual", "backbone_weights": "random"},
        steps=2,
        validate_every=2,
    )
    train([tmp_path / "urmp", tmp_path / "solos"], tmp_path / "run", config, workers=0)
    cached = list((tmp_path / "run" / "features").glob("*.safetensors"))
    assert len(cached) == 2 + len(list((tmp_path / "solos").rglob("*.mp4")))  # every video once
    model = load_model(str(tmp_path / "run" / "best")).model
    assert model.config.uses_visual and model.visual is not None
    with pytest.raises(VimssError, match=r"has no Vid_"):
        for video in (tmp_path / "urmp").rglob("Vid_*.mp4"):
            video.unlink()
        train([tmp_path / "urmp"], tmp_path / "run2", config, workers=0)
    assert not (tmp_path / "run2").exists()


@pytest.mark.parametrize(
    "model",
    [
        {"conditioning": "none", "context": "none"},
        {"conditioning": "film-bottleneck"},
        {"conditioning": "film-encoder"},
        {"conditioning": "film-final"},
        {"mask": "binary"},
        {"architecture": "multihead-unet", "frequency_scale": "log", "input_scaling": "log"},
    ],
)
def test_every_config_of_the_family_trains(tmp_path, solos, model):
    before = ModelConfig(**{**TINY_MODEL, **model})
    train([solos], tmp_path / "run", tiny(steps=2, model=model), workers=0)
    loaded = load_model(str(tmp_path / "run" / "latest"))
    assert loaded.model.config == before


def test_curriculum_raises_the_number_of_sources_when_validation_stalls(tmp_path, solos):
    config = tiny(steps=8, lr=1e-9, curriculum=True, plateau_patience=1, validate_every=1)
    train([solos], tmp_path / "run", config, workers=0)
    with (tmp_path / "run" / "log.csv").open() as f:
        counts = [int(r["max_sources"]) for r in csv.DictReader(f)]
    assert counts[0] == 2 and counts[-1] == 3 and counts == sorted(counts)


def test_cli_train_and_its_errors(tmp_path, solos):
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(tiny().to_dict()))
    ok = vimss(
        "train", "--data", solos, "--config", config, "--out", tmp_path / "run", "--steps", "2", "--workers", "0"
    )
    assert ok.exit_code == 0, ok.output
    assert "validation SI-SDR" in ok.stdout
    again = vimss("train", "--data", solos, "--config", config, "--out", tmp_path / "run", "--workers", "0")
    assert_one_line_error(again, "already holds a run", "--resume")
    resumed = vimss("train", "--data", solos, "--out", tmp_path / "run", "--steps", "4", "--resume", "--workers", "0")
    assert resumed.exit_code == 0, resumed.output
    assert_one_line_error(vimss("train", "--data", solos, "--out", tmp_path / "new", "--resume"), "nothing to resume")
    assert_one_line_error(
        vimss("train", "--data", tmp_path / "missing", "--out", tmp_path / "x"), "dataset folder not found"
    )
    assert not (tmp_path / "x").exists()
    config.write_text(json.dumps({"stepz": 3}))
    assert_one_line_error(vimss("train", "--data", solos, "--config", config), "unknown keys stepz")
    assert_one_line_error(
        vimss("train", "--data", solos, "--conditioning", "film-everywhere", "--out", tmp_path / "y"),
        "conditioning 'film-everywhere'",
    )


def test_two_processes_train_with_distributed_data_parallel_on_cpu(tmp_path, solos):
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(tiny(steps=2).to_dict()))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    run = subprocess.run(
        [
            *torchrun,
            "-m",
            "vimss_cli",
            "train",
            "--data",
            str(solos),
            "--config",
            str(config),
            "--out",
            str(tmp_path / "run"),
            "--workers",
            "0",
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    with (tmp_path / "run" / "log.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [2]
    assert int(rows[0]["examples"]) == 2 * 2 * 2  # steps x batch x processes
    assert run.stdout.count("validation SI-SDR") == 1  # only rank 0 reports
    assert load_model(str(tmp_path / "run" / "latest")).model.config.channels == (4, 8, 16)


def test_an_interrupted_run_saves_its_steps_and_says_how_to_resume(tmp_path, solos):
    import signal
    import time

    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(tiny(steps=100000, validate_every=100000).to_dict()))
    out = tmp_path / "run"
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vimss_cli",
            "train",
            "--data",
            str(solos),
            "--config",
            str(config),
            "--out",
            str(out),
            "--workers",
            "0",
            "--device",
            "cpu",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    # The run folder's config is written once imports and data are done (slow on a loaded
    # machine); a few seconds after it, a few hundred tiny steps have run.
    deadline = time.monotonic() + 120
    while not (out / "train_config.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(4)
    child.send_signal(signal.SIGINT)
    try:
        _, stderr = child.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        child.kill()
        _, stderr = child.communicate()
        raise AssertionError(f"the run did not stop on SIGINT: {stderr[-3000:]}") from None
    assert child.returncode == 130, stderr[-2000:]
    state = json.loads((out / "latest" / "training_state.json").read_text())["state"]
    assert state["step"] > 0  # no validation was reached: without the save, every step was lost
    assert f"interrupted at step {state['step']}" in stderr and "--resume" in stderr and "Traceback" not in stderr
    resumed = vimss(
        "train", "--data", solos, "--out", out, "--steps", str(state["step"] + 2), "--resume", "--workers", "0"
    )
    assert resumed.exit_code == 0, resumed.output


def test_a_waveform_si_sdr_loss_trains_the_u_net(tmp_path, solos):
    from vimss_cli.dsp.spectral import _window_envelope, istft, stft
    from vimss_cli.training.data import Example
    from vimss_cli.training.sets import training_data
    from vimss_cli.training.step import batch_loss

    config = tiny(loss="si-sdr")
    data = training_data(find_recordings([solos]), config, 4, 0, 3, None)
    _window_envelope.cache_clear()
    with torch.inference_mode():  # validation makes the ISTFT's cached window first, as in a real run
        istft(stft(torch.zeros(1, 65535)), 65535)
    batch = Example(*(torch.stack(parts) for parts in zip(*(data[i] for i in range(4)))))
    torch.manual_seed(0)
    model = build_model(config.model).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        loss, _, _ = batch_loss(model, batch, config.model, loss_kind="si-sdr")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 1.0  # dB of SI-SDR gained on the batch
    run = train([solos], tmp_path / "run", tiny(loss="si-sdr", steps=2), workers=0)
    assert math.isfinite(run.si_sdr)
    with pytest.raises(VimssError, match=r"unknown loss 'l3'"):
        tiny(loss="l3")


def test_recoloured_sources_still_sum_to_the_mix_and_change_only_their_colour(solos):
    from vimss_cli.training.data import MixAndSeparate, solos_recordings
    from vimss_cli.training.step import recolour_sources

    data = MixAndSeparate(solos_recordings(solos), 4, max_sources=3, seed=0)
    batch = torch.utils.data.default_collate([data[i] for i in range(4)])
    assert recolour_sources(batch, 0.0, torch.Generator().manual_seed(1)) is batch
    out = recolour_sources(batch, 12.0, torch.Generator().manual_seed(1))
    torch.testing.assert_close(out.mix, out.sources.sum(1), rtol=0, atol=0)  # the mix is exactly their sum
    absent = batch.labels == 0
    assert out.sources[absent].abs().max() == 0  # sources that do not play stay silent
    present = out.sources[~absent]
    assert not torch.allclose(present, batch.sources[~absent], atol=1e-3)
    ratio_db = 20 * torch.log10(stft(present).abs().mean(-1) / stft(batch.sources[~absent]).abs().mean(-1).clamp(1e-9))
    loud = stft(batch.sources[~absent]).abs().mean(-1) > 1e-2  # bins where the tone has energy
    assert ratio_db[loud].abs().max() < 12.5 and ratio_db[loud].std() > 1.0  # colour within +-12 dB, varied
    torch.testing.assert_close(
        recolour_sources(batch, 12.0, torch.Generator().manual_seed(1)).sources, out.sources
    )  # seeded
    assert not torch.equal(recolour_sources(batch, 12.0, torch.Generator().manual_seed(2)).sources, out.sources)
    with pytest.raises(VimssError, match=r"source_eq_db must be at least 0"):
        tiny(source_eq_db=-3.0)


def test_tape_speed_changes_training_mixtures_but_never_validation(solos, urmp):
    from vimss_cli.training.sets import training_data

    found = find_recordings([solos, urmp])
    plain, fast = tiny(), tiny(speed_semitones=3.0)
    for i in range(4):
        assert torch.equal(validation_set(found, fast)[i].mix, validation_set(found, plain)[i].mix)
    changed = [
        not torch.equal(training_data(found, fast, 4, 0, 3)[i].mix, training_data(found, plain, 4, 0, 3)[i].mix)
        for i in range(4)
    ]
    assert all(changed)
    with pytest.raises(VimssError, match=r"speed_semitones within \[0, 12\]"):
        tiny(speed_semitones=13.0)


RECOGNIZER = {"architecture": "recognizer", "conditioning": "none", "context": "none"}


def test_a_recognizer_trains_in_the_loop_and_is_chosen_on_exact_sets(tmp_path, solos, urmp):
    result = train([solos, urmp], tmp_path / "run", tiny(model=RECOGNIZER), val_data=[solos, urmp], workers=0)
    assert math.isnan(result.si_sdri) and 0 <= result.exact_sets <= 100
    assert result.score == result.exact_sets and len(result.folds) == 2
    with (tmp_path / "run" / "log.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [float(r["val_exact_sets"]) for r in rows][-1] == pytest.approx(result.exact_sets, abs=0.01)
    best = tmp_path / "run" / "best"
    assert load_recognizer(str(best)).model.config.architecture == "recognizer"
    assert "named exactly" in (best / "README.md").read_text()
    cli = vimss("train", "--data", solos, "--out", tmp_path / "cli", "--config", _config_file(tmp_path), "--workers", 0)
    assert cli.exit_code == 0, cli.output
    assert "instruments named exactly in" in cli.stdout


def _config_file(tmp_path: Path) -> Path:
    path = tmp_path / "recognizer.json"
    path.write_text(json.dumps(tiny(model=RECOGNIZER, steps=2).to_dict()))
    return path


def test_a_recognizer_resumes_exactly_and_starts_from_a_u_nets_encoder(tmp_path, solos):
    train([solos], tmp_path / "unet", tiny(steps=2), workers=0)
    config = tiny(model=RECOGNIZER, steps=4, init=str(tmp_path / "unet" / "latest"))
    train([solos], tmp_path / "whole", config, workers=0)
    train([solos], tmp_path / "parts", tiny(model=RECOGNIZER, steps=2, init=config.init), workers=0)
    train([solos], tmp_path / "parts", config, resume=True, workers=0)
    whole = load_file(tmp_path / "whole" / "latest" / "model.safetensors")
    parts = load_file(tmp_path / "parts" / "latest" / "model.safetensors")
    for key in whole:
        torch.testing.assert_close(parts[key], whole[key], rtol=0, atol=0, msg=key)
    with pytest.raises(VimssError, match="differs from the training config's model in channels"):
        train([solos], tmp_path / "other", tiny(model={**RECOGNIZER, "channels": (4, 8)}, init=config.init), workers=0)


def test_player_pairs_are_the_two_players_upper_first_with_the_rest_leaking_in(tmp_path):
    import pretty_midi

    folder = write_piece(tmp_path / "pairs", 15, "Surprise", ["tpt", "tpt", "tbn"])
    pieces = urmp_pieces(tmp_path / "pairs")[0]
    in_order = [PlayerPairs(pieces, size=3, seed=0, rate=22050)[k] for k in range(3)]  # no score: AuSep's order
    midi = pretty_midi.PrettyMIDI()
    for pitch in (60, 72, 48):  # the second trumpet plays above the first
        track = pretty_midi.Instrument(program=56)
        track.notes = [pretty_midi.Note(90, pitch, 0.0, 8.0)]
        midi.instruments.append(track)
    midi.write(str(folder / f"Sco_{folder.name}.mid"))
    flipped = PlayerPairs(pieces, size=3, seed=0, rate=22050)
    for k in range(3):
        mix, pair, labels, _ = in_order[k]
        assert pair.shape == (2, SEGMENT_SAMPLES) and labels.nonzero().flatten().tolist() == [index(instrument("tpt"))]
        bleed = mix - pair.sum(0)
        assert 0 < float(bleed.pow(2).sum()) < float(pair.pow(2).sum()) * 10 ** (-12 / 10)
        torch.testing.assert_close(flipped[k].sources, in_order[k].sources.flip(0))


def test_player_pairs_order_by_the_segment_or_by_the_whole_piece_where_the_parts_cross(tmp_path):
    """The second trumpet plays above the first for the first 4 s and below for the last 4: by
    the segment, examples from the start come flipped; by the piece (the player evaluate scores
    as AuSep_1), none do."""
    import pretty_midi

    folder = write_piece(tmp_path / "pairs", 15, "Surprise", ["tpt", "tpt", "tbn"])
    pieces = urmp_pieces(tmp_path / "pairs")[0]
    as_filed = [PlayerPairs(pieces, size=12, seed=0, rate=22050)[k].sources for k in range(12)]
    midi = pretty_midi.PrettyMIDI()
    for notes in ([(60, 0.0, 8.0)], [(72, 0.0, 4.0), (40, 4.0, 8.0)], [(48, 0.0, 8.0)]):
        track = pretty_midi.Instrument(program=56)
        track.notes = [pretty_midi.Note(90, pitch, start, end) for pitch, start, end in notes]
        midi.instruments.append(track)
    midi.write(str(folder / f"Sco_{folder.name}.mid"))
    by_segment = PlayerPairs(pieces, size=12, seed=0, rate=22050)
    by_piece = PlayerPairs(pieces, size=12, seed=0, rate=22050, order="piece")
    flipped = 0
    for k in range(12):
        torch.testing.assert_close(by_piece[k].sources, as_filed[k])  # the first trumpet's mean: 60 > 56
        segment = by_segment[k].sources
        flipped += not torch.equal(segment, as_filed[k])
        assert torch.equal(segment, as_filed[k]) or torch.equal(segment, as_filed[k].flip(0))
    assert 0 < flipped < 12
    with pytest.raises(VimssError, match="unknown player_order 'seat'"):
        tiny(player_order="seat")


def test_a_player_splitter_trains_in_the_same_loop_and_loads_as_one(tmp_path):
    folder = tmp_path / "pairs"
    write_piece(folder, 15, "Surprise", ["tpt", "tpt", "tbn"])
    write_piece(folder, 16, "Quartet", ["vn", "vn", "va", "vc"])
    config = tiny(model={"architecture": "player-splitter", "conditioning": "film-encoder"})
    result = train([folder], tmp_path / "run", config, workers=0)
    assert np.isfinite(result.loss) and np.isfinite(result.si_sdri)
    splitter = load_splitter(str(tmp_path / "run" / "best")).model
    assert splitter(torch.rand(1, 512, 64), torch.eye(13)[:1]).shape == (1, 2, 512, 64)
    write_piece(tmp_path / "single", 1, "Jupiter", ["vn", "vc"])
    with pytest.raises(VimssError, match="trains on pieces in which two players play one instrument"):
        train([tmp_path / "single"], tmp_path / "none", config, workers=0)
    with pytest.raises(VimssError, match="a player splitter trains on the mask loss, without source_eq_db"):
        tiny(model={"architecture": "player-splitter", "conditioning": "film-encoder"}, source_eq_db=3.0)
