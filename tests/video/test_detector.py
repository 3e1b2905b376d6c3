"""YOLO player detectors: the safetensors folder format, local weights, and their errors."""

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from vimss_cli.errors import VimssError
from vimss_cli.video.detector import load_detector, save_detector


@pytest.fixture(scope="module")
def detector_folder(tmp_path_factory):
    from vimss_cli.video.detector import offline_ultralytics

    offline_ultralytics()
    from ultralytics.nn.tasks import DetectionModel

    torch.manual_seed(0)
    model = DetectionModel("yolov8n.yaml", nc=1, verbose=False)
    return save_detector(model, tmp_path_factory.mktemp("det") / "players", {0: "player"}, 320), model


def test_a_saved_detector_loads_offline_with_its_weights_and_names(detector_folder):
    folder, model = detector_folder
    assert sorted(p.name for p in folder.iterdir()) == ["detector.yaml", "model.safetensors"]
    detector = load_detector(folder)
    assert detector.yolo.model.names == {0: "player"} and detector.player_class == 0 and detector.image_size == 320
    for (name, saved), original in zip(detector.yolo.model.state_dict().items(), model.state_dict().values()):
        torch.testing.assert_close(
            saved,
            original.half().to(saved.dtype) if original.is_floating_point() else original,
            rtol=0,
            atol=0,
            msg=name,
        )


def test_a_detector_gives_boxes_per_frame(detector_folder):
    frames = [np.zeros((96, 128, 3), np.uint8), np.full((96, 128, 3), 200, np.uint8)]
    boxes = load_detector(detector_folder[0])(frames)
    assert len(boxes) == 2 and all(isinstance(b, list) for b in boxes)


def test_a_local_ultralytics_weights_file_counts_persons(tmp_path):
    from vimss_cli.video.detector import offline_ultralytics

    yolo = offline_ultralytics().YOLO("yolov8n.yaml")  # 80 classes, random weights
    yolo.model.names = {**{i: f"thing{i}" for i in range(80)}, 5: "person"}
    yolo.save(tmp_path / "people.pt")
    detector = load_detector(tmp_path / "people.pt", trust_pickle=True)
    assert detector.player_class == 5 and detector.name == "people.pt"


class _Planted:
    """A pickle that, once loaded, leaves a file behind: arbitrary code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pt_detector_is_never_unpickled_without_trust(tmp_path):
    import pickle

    marker = tmp_path / "code-ran"
    (tmp_path / "evil.pt").write_bytes(pickle.dumps(_Planted(str(marker))))
    with pytest.raises(VimssError, match=r"pickled PyTorch file.*--trust-pickle.*convert-detector"):
        load_detector(tmp_path / "evil.pt")
    assert not marker.exists()


def test_a_planted_coco_file_in_the_working_folder_is_not_loaded(tmp_path, monkeypatch):
    import pickle

    from vimss_cli.video.detector import BUNDLED_DETECTOR

    marker = tmp_path / "code-ran"
    (tmp_path / "yolo11n.pt").write_bytes(pickle.dumps(_Planted(str(marker))))
    monkeypatch.chdir(tmp_path)
    detector = load_detector(download=False)  # the default: vimss' own cache, else the bundled detector
    assert detector.name == BUNDLED_DETECTOR and not marker.exists()


def test_the_cached_coco_file_is_loaded_only_with_the_pinned_digest(tmp_path, monkeypatch):
    import pickle

    from vimss_cli.video.detector import coco_weights

    monkeypatch.setenv("VIMSS_CACHE", str(tmp_path / "cache"))
    cached = tmp_path / "cache" / "detectors" / "yolo11n.pt"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(pickle.dumps(_Planted(str(tmp_path / "code-ran"))))
    assert coco_weights(download=False) is None and not (tmp_path / "code-ran").exists()


def test_detector_errors(tmp_path, detector_folder):
    with pytest.raises(VimssError, match=r"detector not found"):
        load_detector(tmp_path / "nothing.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(VimssError, match=r"cannot load detector"):
        load_detector(tmp_path / "bad.pt", trust_pickle=True)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "detector.yaml").write_text((detector_folder[0] / "detector.yaml").read_text())
    with pytest.raises(VimssError, match=r"model.safetensors is missing"):
        load_detector(broken)
    (broken / "model.safetensors").write_bytes(b"\0" * 16)
    with pytest.raises(VimssError, match=r"broken detector folder"):
        load_detector(broken)


def test_a_detector_trains_on_synthetic_video_frames_offline(tmp_path):
    import json

    from PIL import Image

    from tests.media import synth_with_video
    from vimss_cli.training.detector import detector_dataset, train_detector

    synth_with_video(tmp_path, "urmp", seconds=2.0)
    data = detector_dataset([tmp_path / "urmp"], tmp_path / "dataset", frames_per_video=2, val_share=0.5)
    images = sorted((tmp_path / "dataset" / "images").rglob("*.jpg"))
    assert len(images) == 4 and {p.parent.name for p in images} == {"train", "val"}
    item = json.loads((tmp_path / "urmp" / "manifest.json").read_text())["items"][0]
    labels = (tmp_path / "dataset" / "labels" / "val" / "00000_0.txt").read_text().splitlines()
    (boxes,) = item["boxes"].values()
    x1, y1, x2, y2 = boxes[0]
    assert labels[0].split() == [
        "0",
        f"{(x1 + x2) / 640:.6f}",
        f"{(y1 + y2) / 360:.6f}",
        f"{(x2 - x1) / 320:.6f}",
        f"{(y2 - y1) / 180:.6f}",
    ]
    assert len(labels) == len(boxes) and Image.open(images[0]).size == (320, 180)
    folder = train_detector(data, tmp_path / "trained", epochs=1, image_size=64, batch=2, workers=0)
    detector = load_detector(folder)
    assert detector.yolo.model.names == {0: "player"} and len(detector([np.asarray(Image.open(images[0]))])) == 1
    assert oct((folder / "model.safetensors").stat().st_mode & 0o777) == "0o644"


def test_the_bundled_detector_finds_the_three_players_of_the_example():
    from vimss_cli.video.detector import bundled_detector_dir
    from vimss_cli.video.players import find_players

    example = Path(__file__).resolve().parents[2] / "examples" / "quartet.mp4"
    track = find_players(example, 3, detector=lambda: load_detector(bundled_detector_dir()))
    boxes = track.at(0.0)
    assert all(a.x2 <= b.x1 + 4 for a, b in itertools.pairwise(boxes))  # three players, left to right
    assert all(b.area > 0.04 * 320 * 180 for b in boxes)  # each a whole figure, not a fragment


def test_convert_detector_makes_a_folder_that_loads_without_pickles(tmp_path):
    from tests.helpers import assert_one_line_error, vimss
    from vimss_cli.video.detector import offline_ultralytics

    yolo = offline_ultralytics().YOLO("yolov8n.yaml")
    yolo.model.names = {**{i: f"thing{i}" for i in range(80)}, 0: "person"}
    yolo.save(tmp_path / "mine.pt")
    result = vimss("convert-detector", tmp_path / "mine.pt", tmp_path / "mine")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["detector.yaml", "model.safetensors"]
    assert load_detector(tmp_path / "mine").player_class == 0
    assert_one_line_error(vimss("convert-detector", tmp_path / "mine.pt", tmp_path / "mine"), "exists")
    assert_one_line_error(vimss("separate", tmp_path / "x.mp4", "-i", "vn,vc", "--detector", tmp_path / "mine.pt"))
