import json
from pathlib import Path

import pytest
import torch

from tests.conftest import tiny_config, tiny_model
from vimss_cli.errors import VimssError
from vimss_cli.nets.checkpoints import load_folder, save_pretrained
from vimss_cli.nets.config import CONDITIONINGS, ModelConfig
from vimss_cli.nets.family import build_model

LABELS = torch.tensor([[1.0, 0, 1] + [0] * 10, [0, 1.0, 0] + [0] * 10])


@pytest.mark.parametrize("conditioning", [c for c in CONDITIONINGS if c != "final-multiply"])
@pytest.mark.parametrize("architecture", ["unet", "multihead-unet"])
def test_forward_shapes_for_every_label_variant(conditioning, architecture):
    model = tiny_model(conditioning=conditioning, architecture=architecture)
    masks = model(torch.rand(2, 512, 16), LABELS)
    assert masks.shape == (2, 13, 512, 16)
    assert masks.min() >= 0 and masks.max() <= 1


@pytest.mark.parametrize("scaling", ["db-norm", "log"])
@pytest.mark.parametrize("frequency", ["linear", "log"])
def test_front_end_options(scaling, frequency):
    model = tiny_model(input_scaling=scaling, frequency_scale=frequency)
    assert model(torch.rand(1, 512, 8)).shape == (1, 13, 512, 8)


def test_paper_default_is_six_levels_16_to_512():
    model = build_model(ModelConfig())
    assert [b.conv.out_channels for b in model.encoder] == [16, 32, 64, 128, 256, 512]
    assert model.frame_multiple == 64
    assert model(torch.rand(1, 512, 256)).shape == (1, 13, 512, 256)


def test_frames_must_fit_the_depth():
    with pytest.raises(ValueError, match="multiple of 8"):
        tiny_model()(torch.rand(1, 512, 12))


def test_binary_masks_are_zero_or_one_at_inference():
    masks = tiny_model(mask="binary").masks(torch.rand(1, 512, 8))
    assert set(masks.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("conditioning", ["film-bottleneck", "film-encoder", "film-final"])
def test_film_with_zero_gamma_beta_is_the_identity(conditioning):
    """A FiLM model whose generators output 0 equals the unconditioned model with the same weights."""
    film = tiny_model(conditioning=conditioning)
    for module in film.modules():
        if hasattr(module, "generator"):
            torch.nn.init.zeros_(module.generator.weight)
            torch.nn.init.zeros_(module.generator.bias)
    plain = build_model(tiny_config()).eval()
    missing, unexpected = plain.load_state_dict(film.state_dict(), strict=False)
    assert not missing and all("film" in k for k in unexpected) and unexpected
    mag = torch.rand(2, 512, 8)
    torch.testing.assert_close(film(mag, LABELS), plain(mag), rtol=0, atol=1e-6)
    # and the labels do change the output once the generators are not zero
    trained = tiny_model(conditioning=conditioning)
    assert not torch.allclose(trained(mag, LABELS), trained(mag, LABELS.flip(0)))


@pytest.mark.parametrize("conditioning", ["label-multiply", "film-encoder-multiply"])
def test_label_gated_models_silence_absent_instruments(conditioning):
    masks = tiny_model(conditioning=conditioning)(torch.rand(2, 512, 8), LABELS)
    absent = LABELS == 0
    assert masks[absent].abs().max() == 0
    assert masks[~absent].min() > 0


def test_film_encoder_multiply_masks_depend_on_who_else_plays():
    """label-multiply's violin mask is the same whoever plays beside it; with FiLM in the
    encoder it changes with the other instruments (and matches film-encoder's, gated)."""
    mag = torch.rand(1, 512, 8)
    with_viola, with_cello = torch.zeros(2, 13), torch.zeros(2, 13)
    with_viola[:, [0, 1]] = 1
    with_cello[:, [0, 2]] = 1
    for conditioning, depends in (("label-multiply", False), ("film-encoder-multiply", True)):
        model = tiny_model(conditioning=conditioning)
        violin = [model(mag, labels[:1])[0, 0] for labels in (with_viola, with_cello)]
        assert torch.equal(*violin) is not depends
    gated, film = tiny_model(conditioning="film-encoder-multiply"), tiny_model(conditioning="film-encoder")
    film.load_state_dict(gated.state_dict())
    torch.testing.assert_close(gated(mag, LABELS), film(mag, LABELS) * LABELS[:, :, None, None])


def test_conditioned_model_requires_its_context():
    with pytest.raises(VimssError, match="conditioned on labels"):
        tiny_model(conditioning="film-encoder")(torch.rand(1, 512, 8))


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"conditioning": "film-encoder", "frequency_scale": "log"},
        {"architecture": "multihead-unet", "mask": "binary"},
    ],
)
def test_save_load_gives_identical_outputs(tmp_path, overrides):
    model = tiny_model(**overrides)
    folder = save_pretrained(model, tmp_path / "ckpt")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    loaded = load_folder(folder).model
    assert loaded.config == model.config
    mag = torch.rand(1, 512, 8)
    assert torch.equal(loaded(mag, LABELS[:1]), model(mag, LABELS[:1]))


def test_half_precision_checkpoint_loads_as_float32(tmp_path):
    model = tiny_model()
    loaded = load_folder(save_pretrained(model, tmp_path / "half", half=True)).model
    assert next(loaded.parameters()).dtype == torch.float32
    mag = torch.rand(1, 512, 8)
    torch.testing.assert_close(loaded(mag), model(mag), atol=2e-3, rtol=0)


def test_config_round_trip_and_refusals(tmp_path):
    config = tiny_config(conditioning="film-final")
    path = tmp_path / "config.json"
    path.write_text(config.to_json())
    assert ModelConfig.load(path) == config
    data = json.loads(path.read_text())
    for key, value, message in [
        ("conditioning", "film-everywhere", "conditioning 'film-everywhere' is not one of"),
        ("context", "none", "needs a context"),
        ("library", "other", "not a vimss model"),
        ("extra", 1, "unknown keys extra"),
    ]:
        path.write_text(json.dumps({**data, key: value}))
        with pytest.raises(VimssError, match=message):
            ModelConfig.load(path)


def _break(folder: Path, how: str) -> None:
    if how == "no weights":
        (folder / "model.safetensors").unlink()
    elif how == "no config":
        (folder / "config.json").unlink()
    elif how == "bad json":
        (folder / "config.json").write_text("{not json")
    elif how == "corrupt weights":
        (folder / "model.safetensors").write_bytes(b"\x00" * 64)
    elif how == "wrong shapes":
        data = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**data, "channels": [4, 8, 32]}))
    elif how == "wrong variant":
        data = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**data, "conditioning": "film-encoder", "context": "labels"}))


@pytest.mark.parametrize(
    "how, message",
    [
        ("no weights", "model.safetensors is missing"),
        ("no config", "config.json is missing"),
        ("bad json", "not valid JSON"),
        ("corrupt weights", "model.safetensors is not readable"),
        ("wrong shapes", "do not fit config.json: .*wrong shape"),
        ("wrong variant", "do not fit config.json: .*missing"),
    ],
)
def test_broken_checkpoint_folders_are_one_line_errors(tmp_path, how, message):
    folder = save_pretrained(tiny_model(), tmp_path / "ckpt")
    _break(folder, how)
    with pytest.raises(VimssError, match=message) as info:
        load_folder(folder)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "overrides",
    [
        {"conditioning": c, "architecture": a}
        for c in CONDITIONINGS
        if c != "final-multiply"
        for a in ("unet", "multihead-unet")
    ]
    + [{"conditioning": c, "context": "labels+visual"} for c in ("film-final", "final-multiply")],
)
def test_masks_of_chosen_instruments_are_those_of_all_instruments(overrides):
    """Separation asks the network for only the instruments it separates."""
    from tests.nets.test_visual import features

    model = tiny_model(**overrides)
    torch.nn.init.normal_(model.decoders[0].out[1].bias)  # no two instruments alike
    visual = features() if "visual" in overrides.get("context", "") else None
    mag = torch.rand(2, 512, 16)
    with torch.inference_mode():
        every = model.masks(mag, LABELS, visual)
        chosen = model.masks(mag, LABELS, visual, [2, 0, 5])
    torch.testing.assert_close(chosen, every[:, [2, 0, 5]], rtol=0, atol=1e-6)
