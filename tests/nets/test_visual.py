"""The visual branch: player crops, ResNet-50 features, and every visually conditioned variant."""

import numpy as np
import pytest
import torch

from tests.conftest import tiny_model
from vimss_cli.boxes import Box
from vimss_cli.errors import VimssError
from vimss_cli.nets.config import VISUAL_DIM, ModelConfig
from vimss_cli.nets.visual import FEATURE_DIM, VisualContext, crop_players

LABELS = torch.tensor([[1.0, 0, 1] + [0] * 10, [0, 1.0, 0] + [0] * 10])


def features(batch=2, players=3, frames=1, seed=0):
    return torch.rand(batch, players, frames, FEATURE_DIM, generator=torch.Generator().manual_seed(seed))


def test_crops_and_backbone_features_have_the_papers_shapes():
    frame = np.random.default_rng(0).integers(0, 255, (90, 160, 3), dtype=np.uint8)
    crops = crop_players(frame, [Box(0, 0, 50, 90), Box(50, 10, 110, 80), Box(150, 80, 400, 300)])
    assert crops.shape == (3, 3, 224, 224)
    visual = VisualContext("frame").eval()
    with torch.inference_mode():
        out = visual.features(crops.reshape(1, 3, 1, 3, 224, 224))
        assert out.shape == (1, 3, 1, FEATURE_DIM)
        assert visual(out).shape == (1, VISUAL_DIM)


@pytest.mark.parametrize("pooling,frames", [("frame", 1), ("lstm", 4), ("maxpool", 4)])
@pytest.mark.parametrize("context", ["visual", "labels+visual"])
@pytest.mark.parametrize("conditioning", ["film-bottleneck", "film-encoder", "film-final", "final-multiply"])
def test_forward_of_every_visual_variant(conditioning, context, pooling, frames):
    model = tiny_model(conditioning=conditioning, context=context, visual_pooling=pooling, visual_frames=frames)
    labels = LABELS if "labels" in context else None
    masks = model(torch.rand(2, 512, 16), labels, features(frames=frames))
    assert masks.shape == (2, 13, 512, 16) and masks.min() >= 0 and masks.max() <= 1
    assert not torch.allclose(masks, model(torch.rand(2, 512, 16), labels, features(frames=frames, seed=1)))


@pytest.mark.parametrize("pooling,frames", [("frame", 1), ("lstm", 3)])
def test_padding_with_a_copy_of_a_player_changes_nothing(pooling, frames):
    visual = VisualContext(pooling).eval()
    three = features(players=3, frames=frames)
    padded = torch.cat([three, three[:, :1]], dim=1)
    # Another batch shape takes another BLAS path: equal to float precision, not bit for bit.
    torch.testing.assert_close(visual(padded), visual(three), rtol=0, atol=1e-6)


def test_final_multiply_gates_masks_with_visual_instrument_probabilities():
    model = tiny_model(conditioning="final-multiply", context="labels+visual")
    torch.nn.init.normal_(model.instrument_classifier.weight)
    context = model.context(LABELS, features())
    probabilities = model.instrument_probabilities(context)
    torch.testing.assert_close(probabilities.sum(-1), torch.ones(2))
    gate = model.instrument_gate(context, LABELS)
    assert gate.shape == (2, 13) and (gate[LABELS == 0] == 0).all() and gate.max() <= 1
    torch.testing.assert_close(gate, probabilities / probabilities.amax(-1, keepdim=True) * LABELS)
    alone = tiny_model(conditioning="final-multiply")
    alone.load_state_dict(model.state_dict(), strict=False)
    assert (alone.instrument_gate(context, None).amax(-1) == 1).all()  # the most probable instrument passes whole


def test_a_new_final_multiply_model_starts_as_label_multiply():
    labelled = tiny_model(conditioning="label-multiply")
    visual = tiny_model(conditioning="final-multiply", context="labels+visual")
    visual.load_state_dict(labelled.state_dict(), strict=False)  # the shared U-Net
    mag = torch.rand(2, 512, 16)
    with torch.inference_mode():
        torch.testing.assert_close(visual(mag, LABELS, features()), labelled(mag, LABELS))


def test_visual_configs_are_checked_and_visual_models_need_features():
    for fields, message in (
        ({"conditioning": "final-multiply", "context": "labels"}, "final-multiply needs visual"),
        ({"conditioning": "label-multiply", "context": "visual"}, "label-multiply needs labels"),
        ({"conditioning": "film-final", "context": "visual", "visual_pooling": "lstm"}, "lstm and maxpool 2 or more"),
        ({"conditioning": "film-final", "context": "visual", "visual_frames": 3}, "frame takes 1"),
    ):
        with pytest.raises(VimssError, match=message):
            ModelConfig(**fields)
    with pytest.raises(VimssError, match="conditioned on visual features"):
        tiny_model(conditioning="film-final", context="visual")(torch.rand(1, 512, 8))


@pytest.fixture(scope="module")
def trio_video(tmp_path_factory):
    """A 4-s synthetic trio video (vimss synth's figures) with a mono mix as its audio."""
    import random

    from vimss_cli.synth.video import encode_video, place_figures, render_frames

    rng = random.Random(0)
    figures = place_figures(["vn", "va", "vc"], [(0.0, 1.0, 2.0), (0.5, 1.5), (0.2, 3.0)], rng)
    t = np.arange(4 * 11025) / 11025
    mix = (8000 * (np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 220 * t))).astype(np.int16)
    path = tmp_path_factory.mktemp("video") / "trio.mp4"
    path.write_bytes(encode_video(render_frames(figures, 4.0, rng), mix, 11025))
    return path, [f.box() for f in figures]


def test_find_players_with_given_boxes_and_its_errors(trio_video):
    from vimss_cli.video.players import find_players

    video, boxes = trio_video
    track = find_players(video, 3, boxes=boxes)
    assert track.at(0.0) == boxes and track.at(3.5) == boxes
    with pytest.raises(VimssError, match="--boxes gives 3 boxes but --instruments names 2"):
        find_players(video, 2, boxes=boxes)


def test_video_features_are_the_crops_of_each_segment_through_resnet(trio_video):
    from vimss_cli.video.features import VideoFeatures
    from vimss_cli.video.frames import read_frames
    from vimss_cli.video.players import find_players

    video, boxes = trio_video
    visual = VisualContext("lstm").eval()
    track = find_players(video, 3, boxes=boxes)
    single = VideoFeatures(visual, video, track, segment=2.0)([0.0, 1.0])
    motion = VideoFeatures(visual, video, track, segment=2.0, frames=4)([0.0, 1.0])  # overlapping segments
    assert single.shape == (2, 3, 1, FEATURE_DIM) and motion.shape == (2, 3, 4, FEATURE_DIM)
    (frame,) = read_frames(video, [1.0])
    with torch.inference_mode():
        by_hand = visual.features(crop_players(frame, boxes))
    torch.testing.assert_close(single[1, :, 0], by_hand)
    torch.testing.assert_close(motion[0, :, 2], by_hand)  # frame 2 of segment 0 is at 1.0 s


def test_a_visual_model_separates_a_video_and_needs_one(trio_video):
    from vimss_cli.dsp.audio import open_audio
    from vimss_cli.separator import Separator
    from vimss_cli.video.features import VideoFeatures
    from vimss_cli.video.players import find_players

    video, boxes = trio_video
    model = tiny_model(conditioning="film-bottleneck", context="labels+visual")
    separator = Separator(model, segment=1.5, overlap=0.25, wiener_iterations=0)
    with open_audio(video) as reader:
        mix, rate = reader.read_all(), reader.info.sample_rate
    features = VideoFeatures(model.visual, video, find_players(video, 3, boxes=boxes), segment=1.5)
    stems = separator.separate(mix, rate, "vn,va,vc", visual=features)
    assert list(stems) == ["vn", "va", "vc"] and all(s.shape == mix.shape for s in stems.values())
    with pytest.raises(VimssError, match="give it a video"):
        separator.separate(mix, rate, "vn,va,vc")


@pytest.fixture(scope="module")
def visual_model_dir(tmp_path_factory):
    from vimss_cli.nets.checkpoints import save_pretrained

    model = tiny_model(conditioning="final-multiply", context="labels+visual")
    return save_pretrained(model, tmp_path_factory.mktemp("models") / "tiny-visual")


@pytest.fixture(scope="module")
def untrained_detector(tmp_path_factory):
    from vimss_cli.video.detector import offline_ultralytics, save_detector

    offline_ultralytics()
    from ultralytics.nn.tasks import DetectionModel

    torch.manual_seed(0)
    model = DetectionModel("yolov8n.yaml", nc=1, verbose=False)
    return save_detector(model, tmp_path_factory.mktemp("det") / "d", {0: "player"}, 320)


def test_cli_separates_a_video_with_boxes_and_draws_them(tmp_path, trio_video, visual_model_dir):
    from PIL import Image

    from tests.helpers import stem_files, vimss

    video, boxes = trio_video
    spec = ";".join(",".join(f"{v:g}" for v in (b.x1, b.y1, b.x2, b.y2)) for b in boxes)
    result = vimss(
        "separate",
        video,
        "-i",
        "vn,va,vc",
        "-m",
        visual_model_dir,
        "--boxes",
        spec,
        "--save-boxes",
        tmp_path / "boxes.png",
        "-o",
        tmp_path / "out",
    )
    assert result.exit_code == 0, result.output
    stems = stem_files(tmp_path / "out" / "tiny-visual" / "trio")
    assert stems == ["va.wav", "vc.wav", "vn.wav"]
    assert Image.open(tmp_path / "boxes.png").size == (320, 180)


def test_cli_video_errors_and_the_strips_fallback(tmp_path, trio_video, visual_model_dir, untrained_detector):
    from tests.helpers import assert_one_line_error, vimss
    from tests.media import write_counting_video

    video, _ = trio_video
    common = ["-i", "vn,va,vc", "-m", visual_model_dir, "-o", tmp_path / "out", "--detector", untrained_detector]
    # an untrained detector finds nobody: equal strips stand in, with one warning line
    found = vimss("separate", video, *common)
    assert found.exit_code == 0, found.output
    assert [line for line in found.stderr.splitlines() if line.startswith("warning:")] == [
        "warning: found 0 players in trio.mp4 but --instruments names 3: using 3 equal vertical strips, left to right "
        "as URMP composites its players (--boxes places them exactly)"
    ]
    result = vimss("separate", video, *common, "--layout", "strips", "--save-boxes", tmp_path / "strips.png")
    assert result.exit_code == 0 and "warning" not in result.stderr, result.output  # strips asked for: no detection
    assert (tmp_path / "strips.png").is_file()
    silent = write_counting_video(tmp_path / "silent.mp4", frames=20)
    assert_one_line_error(vimss("separate", silent, *common, "--layout", "strips"), "audio")
    wav = tmp_path / "mix.wav"
    import soundfile as sf

    sf.write(wav, np.zeros(11025, np.float32), 11025)
    assert_one_line_error(vimss("separate", wav, *common), "no video stream")
    assert_one_line_error(vimss("separate", video, *common, "--boxes", "1,2,3"), "four numbers")
    assert not (tmp_path / "out" / "tiny-visual" / "silent").exists()


def test_cached_features_match_the_separators_and_are_computed_once(tmp_path, trio_video):
    import os

    from vimss_cli.video.feature_cache import features_at, trunk_fingerprint, video_features
    from vimss_cli.video.features import VideoFeatures
    from vimss_cli.video.players import find_players

    video, boxes = trio_video
    visual = VisualContext("frame").eval()
    fingerprint = trunk_fingerprint(visual)
    track = find_players(video, 3, boxes=boxes)
    cached = video_features(visual, video, track, tmp_path / "cache", fingerprint)
    assert cached.shape == (8, 3, FEATURE_DIM) and cached.dtype == torch.float16  # 4 s every 0.5 s
    (file,) = (tmp_path / "cache").iterdir()
    stamp = file.stat().st_mtime_ns
    assert torch.equal(video_features(visual, video, track, tmp_path / "cache", fingerprint), cached)
    assert file.stat().st_mtime_ns == stamp  # read, not recomputed
    live = VideoFeatures(visual, video, track, segment=2.0)([1.0])
    torch.testing.assert_close(features_at(cached, 1.0, 2.0), live[0], rtol=2e-3, atol=2e-3)  # fp16 on disk
    assert features_at(cached, 1.0, 2.0, frames=4).shape == (3, 4, FEATURE_DIM)
    # other weights or a changed video are other cache entries
    other = VisualContext("frame").eval()
    assert trunk_fingerprint(other) != fingerprint
    os.utime(video, ns=(stamp, stamp + 1))
    video_features(visual, video, track, tmp_path / "cache", fingerprint)
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_evaluate_scores_a_visual_model_on_each_pieces_video(tmp_path, visual_model_dir):
    import json

    from tests.helpers import vimss
    from tests.media import synth_with_video

    data = synth_with_video(tmp_path, "urmp")
    result = vimss("evaluate", data, "-m", visual_model_dir, "--no-oracles", "-o", tmp_path / "eval", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "eval" / "results.json").read_text())["rows"]
    from vimss_cli.evaluation.urmp import urmp_pieces

    assert {r["method"] for r in rows} == {"tiny-visual"}
    assert len(rows) == sum(len(p.instruments) for p in urmp_pieces(data)[0])
