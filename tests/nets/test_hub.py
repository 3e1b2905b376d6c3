"""Hub checkpoints from a populated local cache with HF_HUB_OFFLINE=1 (no network here).

huggingface_hub reads HF_HUB_OFFLINE when it is imported, so these run the CLI as a
separate process, the way a user would.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.helpers import stem_files

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def populate_cache(cache: Path, repo_id: str, checkpoint: Path, refs: tuple[str, ...] = ("main",)) -> None:
    """Lay a checkpoint out the way huggingface_hub stores a download."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    for f in checkpoint.iterdir():
        shutil.copy(f, snapshot / f.name)
    (repo / "refs").mkdir()
    for ref in refs:
        (repo / "refs" / ref).write_text(COMMIT)


def run_vimss(*args, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache)}
    exe = Path(sys.executable).parent / "vimss"
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def cache(tmp_path, model_dir):
    cache = tmp_path / "hf-cache"
    populate_cache(cache, "chamber/tiny-labels", model_dir, refs=("main", "v1"))
    return cache


def test_separate_with_a_hub_model_from_the_offline_cache(tmp_path, cache, mix_wav):
    out = tmp_path / "out"
    for spec in ("chamber/tiny-labels", "chamber/tiny-labels@v1"):
        result = run_vimss("separate", mix_wav, "-i", "vn,vc", "-m", spec, "-o", out, "--json", cache=cache)
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert summary["source"] == f"hub:{spec}" and summary["model"] == "tiny-labels"
    assert stem_files(out / "tiny-labels" / "quartet") == ["vc.wav", "vn.wav"]


def test_models_lists_cached_hub_models(cache):
    result = run_vimss("models", "--json", cache=cache)
    assert result.returncode == 0, result.stderr
    names = [e["name"] for e in json.loads(result.stdout) if e["source"] == "hub cache"]
    assert names == ["chamber/tiny-labels@main,v1"]


def test_empty_cache_offline_is_a_clear_error(tmp_path, mix_wav):
    result = run_vimss("separate", mix_wav, "-i", "vn,vc", "-m", "chamber/absent", cache=tmp_path / "none")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: model chamber/absent is not in the Hugging Face cache and HF_HUB_OFFLINE is set"
    )


def test_unknown_revision_offline_is_a_clear_error(cache, mix_wav):
    result = run_vimss("separate", mix_wav, "-i", "vn,vc", "-m", "chamber/tiny-labels@v9", cache=cache)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: model chamber/tiny-labels@v9 is not in the Hugging Face cache")


def test_averaging_checkpoints_takes_the_mean_of_their_weights(tmp_path):
    from tests.conftest import tiny_model
    from vimss_cli.errors import VimssError
    from vimss_cli.nets.checkpoints import average_models, save_pretrained

    a, b = tiny_model(seed=1), tiny_model(seed=2)
    folders = [save_pretrained(m, tmp_path / name) for m, name in ((a, "a"), (b, "b"))]
    mean = average_models(folders)
    for (name, value), x, y in zip(mean.state_dict().items(), a.state_dict().values(), b.state_dict().values()):
        expected = (x.float() + y.float()) / 2 if x.is_floating_point() else x
        torch.testing.assert_close(value, expected.to(value.dtype), msg=name)
    assert torch.equal(
        average_models(folders[:1]).state_dict()["encoder.0.conv.weight"], a.state_dict()["encoder.0.conv.weight"]
    )
    other = save_pretrained(tiny_model(conditioning="film-final"), tmp_path / "other")
    with pytest.raises(VimssError, match="different model configs"):
        average_models([folders[0], other])


def _silent_server():
    """A loopback TCP server that accepts connections and never answers: a black-holed Hub."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return server


@pytest.mark.parametrize("cached", [False, True])
def test_a_silent_hub_is_waited_for_a_bounded_time_and_said(tmp_path, cache, mix_wav, cached):
    import time

    server = _silent_server()
    try:
        env = {
            **os.environ,
            "HF_HUB_CACHE": str(cache if cached else tmp_path / "none"),
            "VIMSS_HUB_TIMEOUT": "3",
            "HF_ENDPOINT": f"http://127.0.0.1:{server.getsockname()[1]}",
        }
        env.pop("HF_HUB_OFFLINE", None)
        exe = Path(sys.executable).parent / "vimss"
        started = time.monotonic()
        run = subprocess.run(
            [exe, "separate", mix_wav, "-i", "vn,vc", "-m", "chamber/tiny-labels", "-o", tmp_path / "o"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        waited = time.monotonic() - started
    finally:
        server.close()
    assert waited < 25, run.stderr
    if cached:
        assert run.returncode == 0 and "did not answer within 3 s; using the cached chamber/tiny-labels" in run.stderr
    else:
        assert run.returncode == 1 and "fetching chamber/tiny-labels from the Hugging Face Hub" in run.stderr
        assert run.stderr.strip().splitlines()[-1].startswith("error: the Hugging Face Hub did not answer within 3 s")
