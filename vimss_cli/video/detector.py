"""Player detection with ultralytics YOLO.

Default: the COCO person detector (`yolo11n.pt`), downloaded once into vimss' own cache
(never the working folder, where ultralytics would look first and unpickle whatever is
there) and checked against a pinned SHA-256 before it is loaded. Without it (offline, or
a failed check), the bundled `vimss-players` detector (a YOLO fine-tuned on `vimss synth
--video` frames, stored as a model YAML plus safetensors: nothing is unpickled) is used.
`--detector` takes a folder in the bundled format; an ultralytics `.pt` file is a pickle,
which can run any code when loaded, so it is only loaded with `trust_pickle` (the CLI's
`--trust-pickle`), or converted once by `vimss convert-detector`. ultralytics' own online
checks, settings sync and runtime installs are always switched off before import.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from ..boxes import Box
from ..errors import VimssError, one_line
from ..nets.checkpoints import bundled_dir, half_state, write_folder

COCO_WEIGHTS = "yolo11n.pt"
COCO_URL = "https://github.com/ultralytics/assets/releases/download/v8.3.0/yolo11n.pt"
COCO_SHA256 = "0ebbc80d4a7680d14987a577cd21342b65ecfd94632bd9a8da63ae6417644ee1"
"""The digest published beside the v8.3.0 release file by third parties (it could not be
checked from this project's offline machines): a file that differs is never loaded."""
RETRY_SECONDS = 24 * 3600.0
"""After a failed download, the default detector is not tried again for this long (offline runs wait no more)."""
DOWNLOAD_SECONDS = 15.0
"""The longest the default detector waits for its one-time download before falling back."""
BUNDLED_DETECTOR = "vimss-players"
DETECTOR_YAML = "detector.yaml"
DETECTOR_WEIGHTS = "model.safetensors"
CONFIDENCE = 0.25


def offline_ultralytics() -> Any:
    """Import ultralytics with its network habits switched off: vimss downloads what it needs itself."""
    from ..cache import cache_root

    os.environ.setdefault("YOLO_AUTOINSTALL", "0")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(cache_root() / "ultralytics"))
    os.environ["YOLO_OFFLINE"] = "1"
    # Its info lines, the first run's note about `yolo settings` (a command vimss users do
    # not have) among them, are not for vimss users; its warnings are, once it is imported.
    os.environ.setdefault("YOLO_VERBOSE", "false")
    import contextlib
    import logging

    # ultralytics logs to the stdout it finds at import: send that to stderr, so `--json`
    # output stays the only thing on stdout.
    with contextlib.redirect_stdout(sys.stderr):
        import ultralytics
        from ultralytics.utils import LOGGER, SETTINGS

    for log in (LOGGER, *LOGGER.handlers):
        log.setLevel(min(log.level, logging.WARNING))
    if SETTINGS.get("sync"):
        SETTINGS.update(sync=False)
    return ultralytics


@dataclass
class PlayerDetector:
    """A YOLO model and the class it counts as a player (COCO person, or our player class)."""

    yolo: Any
    name: str
    player_class: int = 0
    image_size: int = 640
    """The size the detector was trained at: objects must look as large as in training."""

    def __call__(self, frames: list[np.ndarray], confidence: float = CONFIDENCE) -> list[list[Box]]:
        """Player boxes in each RGB frame."""
        if not frames:
            return []
        bgr = [np.ascontiguousarray(f[..., ::-1]) for f in frames]  # ultralytics reads arrays as OpenCV BGR
        results = self.yolo.predict(
            bgr, conf=confidence, classes=[self.player_class], imgsz=self.image_size, verbose=False, device="cpu"
        )
        return [[Box(*map(float, xyxy)) for xyxy in r.boxes.xyxy.tolist()] for r in results]


def bundled_detector_dir() -> Path:
    return bundled_dir() / BUNDLED_DETECTOR


def load_detector(
    spec: str | Path | None = None, *, trust_pickle: bool = False, download: bool = True
) -> PlayerDetector:
    """`--detector`: a detector folder, or a YOLO `.pt` file when `trust_pickle`; by default
    the COCO person detector from vimss' cache (downloaded once when `download`) or the
    bundled detector."""
    if spec is not None:
        path = Path(spec).expanduser()
        if path.is_dir():
            return load_detector_folder(path)
        if not path.is_file():
            raise VimssError(f"detector not found: {path} (a detector folder, or a YOLO .pt file with --trust-pickle)")
        if not trust_pickle:
            raise VimssError(
                f"{path} is a pickled PyTorch file, and loading it runs any code inside it: pass "
                f"--trust-pickle if you trust its source, or convert it once with "
                f"`vimss convert-detector {path} FOLDER` and pass the folder"
            )
        return load_pickled_detector(path)
    weights = coco_weights(download)
    if weights is not None:
        return PlayerDetector(offline_ultralytics().YOLO(str(weights)), COCO_WEIGHTS)
    if not bundled_detector_dir().is_dir():
        raise VimssError(f"{COCO_WEIGHTS} could not be downloaded and no bundled detector is installed: pass --boxes")
    return load_detector_folder(bundled_detector_dir())


def load_pickled_detector(path: Path) -> PlayerDetector:
    """An ultralytics `.pt` file: unpickled, so only for files the user trusts."""
    try:
        yolo = offline_ultralytics().YOLO(str(path.resolve()))
    except Exception as err:  # ultralytics raises many kinds for a bad file
        raise VimssError(f"cannot load detector {path}: {one_line(err)}") from None
    return PlayerDetector(yolo, path.name, _person_class(yolo.names), int(yolo.overrides.get("imgsz") or 640))


def coco_weights(download: bool = True) -> Path | None:
    """The COCO person detector in vimss' cache, checked against COCO_SHA256; downloaded
    once (at most DOWNLOAD_SECONDS, saying so) when missing. None when it cannot be had."""
    import hashlib
    import threading
    import urllib.request

    from ..atomic import temporary_beside
    from ..cache import cache_root

    path = cache_root() / "detectors" / COCO_WEIGHTS

    def verified(file: Path) -> bool:
        return file.is_file() and hashlib.sha256(file.read_bytes()).hexdigest() == COCO_SHA256

    if verified(path):
        return path
    failed = path.with_name(f".{COCO_WEIGHTS}.unavailable")  # when the last try failed: not retried for a day
    recent = failed.is_file() and time.time() - failed.stat().st_mtime < RETRY_SECONDS
    if recent or not download or os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("VIMSS_OFFLINE") == "1":
        return None
    print(
        f"note: downloading the COCO person detector {COCO_WEIGHTS} (5.6 MB, at most {DOWNLOAD_SECONDS:g} s) "
        f"into {path.parent}",
        file=sys.stderr,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_beside(path)
    outcome: list[BaseException] = []

    def fetch() -> None:
        try:
            urllib.request.urlretrieve(COCO_URL, tmp)
        except BaseException as err:  # reported below; the thread must not die silently
            outcome.append(err)

    thread = threading.Thread(target=fetch, daemon=True)
    thread.start()
    thread.join(DOWNLOAD_SECONDS)
    ok = not thread.is_alive() and not outcome and verified(tmp)
    if ok:
        os.replace(tmp, path)
        return path
    why = (
        "timed out"
        if thread.is_alive()
        else one_line(outcome[0])
        if outcome
        else "its SHA-256 differs from the pinned one"
    )
    print(
        f"note: {COCO_WEIGHTS} unavailable ({why}); using the bundled {BUNDLED_DETECTOR} (next try in a day, "
        f"or remove {failed})",
        file=sys.stderr,
    )
    failed.touch()
    if not thread.is_alive():
        tmp.unlink(missing_ok=True)
    return None


def _person_class(names: dict[int, str]) -> int:
    """The class a detector calls person or player (COCO: 0)."""
    for index, name in names.items():
        if name.lower() in ("person", "player"):
            return int(index)
    return 0


def load_detector_folder(folder: Path) -> PlayerDetector:
    """A detector saved by `save_detector`: model YAML + safetensors, built offline."""
    from safetensors.torch import load_file

    for needed in (DETECTOR_YAML, DETECTOR_WEIGHTS):
        if not (folder / needed).is_file():
            raise VimssError(f"broken detector folder {folder}: {needed} is missing")
    ultralytics = offline_ultralytics()
    import logging

    import yaml
    from ultralytics.nn.tasks import DetectionModel
    from ultralytics.utils import LOGGER

    try:
        config = yaml.safe_load((folder / DETECTOR_YAML).read_text())
        # ultralytics guesses a YAML's scale from its file name: build the wrapper quietly, then
        # its model from the config itself, at the scale the config says.
        level = LOGGER.level
        LOGGER.setLevel(logging.ERROR)
        try:
            yolo = ultralytics.YOLO(str(folder / DETECTOR_YAML), task="detect", verbose=False)
        finally:
            LOGGER.setLevel(level)
        yolo.model = DetectionModel(cfg=config, verbose=False)
        state = load_file(str(folder / DETECTOR_WEIGHTS))
        yolo.model.load_state_dict({k: v.to(yolo.model.state_dict()[k].dtype) for k, v in state.items()})
    except Exception as err:
        raise VimssError(f"broken detector folder {folder}: {one_line(err)}") from None
    yolo.model.eval()
    yolo.model.names = {int(k): v for k, v in (config.get("names") or {0: "player"}).items()}
    return PlayerDetector(yolo, folder.name, _person_class(yolo.model.names), int(config.get("imgsz", 640)))


def save_detector(
    model: torch.nn.Module, folder: Path, names: dict[int, str], image_size: int, half: bool = True
) -> Path:
    """Save an ultralytics DetectionModel as model YAML (with its class names and the image
    size it was trained at) + safetensors."""
    import yaml
    from safetensors.torch import save
    from ultralytics.nn.tasks import guess_model_scale

    spec = cast(dict, model.yaml)  # the model's architecture, as ultralytics keeps it
    config = {k: v for k, v in spec.items() if k != "yaml_file"}
    config.update(
        nc=len(names),
        names={int(k): v for k, v in names.items()},
        imgsz=image_size,
        scale=spec.get("scale") or guess_model_scale(spec.get("yaml_file", "")),
    )
    return write_folder(
        folder,
        {
            DETECTOR_YAML: yaml.safe_dump(config, sort_keys=False).encode(),
            DETECTOR_WEIGHTS: save(half_state(model, half)),
        },
    )
