"""Player detection with ultralytics YOLO.

Default: the COCO person detector (`yolo11n.pt`), which ultralytics downloads for users
who are online. Offline, the bundled `vimss-players` detector (a YOLO fine-tuned on
`vimss synth --video` frames, stored as a model YAML plus safetensors: nothing is
unpickled) is used instead. `--detector` takes a local ultralytics `.pt` file or a
folder in the bundled format; with a local file no network call is made: ultralytics'
own online checks, settings sync and runtime installs are switched off before import.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import VimssError, first_line
from .players import Box

COCO_WEIGHTS = "yolo11n.pt"
BUNDLED_DETECTOR = "vimss-players"
DETECTOR_YAML = "detector.yaml"
DETECTOR_WEIGHTS = "model.safetensors"
CONFIDENCE = 0.25


def _ultralytics(offline: bool) -> Any:
    """Import ultralytics with its network habits switched off (all of them when `offline`)."""
    os.environ.setdefault("YOLO_AUTOINSTALL", "0")
    os.environ.setdefault("YOLO_CONFIG_DIR", str(Path.home() / ".cache" / "vimss" / "ultralytics"))
    if offline:
        os.environ["YOLO_OFFLINE"] = "1"
    import ultralytics
    from ultralytics.utils import SETTINGS

    if SETTINGS.get("sync"):
        SETTINGS.update(sync=False)
    return ultralytics


@dataclass
class PlayerDetector:
    """A YOLO model and the class it counts as a player (COCO person, or our player class)."""

    yolo: Any
    name: str
    player_class: int = 0

    def __call__(self, frames: list[np.ndarray], confidence: float = CONFIDENCE) -> list[list[Box]]:
        """Player boxes in each RGB frame."""
        if not frames:
            return []
        bgr = [np.ascontiguousarray(f[..., ::-1]) for f in frames]  # ultralytics reads arrays as OpenCV BGR
        results = self.yolo.predict(bgr, conf=confidence, classes=[self.player_class], verbose=False, device="cpu")
        return [[Box(*map(float, xyxy)) for xyxy in r.boxes.xyxy.tolist()] for r in results]


def bundled_detector_dir() -> Path:
    return Path(str(resources.files("vimss_cli.models"))) / BUNDLED_DETECTOR


def load_detector(spec: str | Path | None = None) -> PlayerDetector:
    """`--detector`: a local weights file or detector folder; by default COCO weights
    (downloaded by ultralytics when online) or, offline, the bundled detector."""
    if spec is not None:
        path = Path(spec).expanduser()
        if path.is_dir():
            return load_detector_folder(path)
        if not path.is_file():
            raise VimssError(f"detector not found: {path} (a YOLO .pt file or a detector folder)")
        ultralytics = _ultralytics(offline=True)
        try:
            yolo = ultralytics.YOLO(str(path))
        except Exception as err:  # ultralytics raises many kinds for a bad file
            raise VimssError(f"cannot load detector {path}: {first_line(err)}") from None
        return PlayerDetector(yolo, path.name, _person_class(yolo.names))
    ultralytics = _ultralytics(offline=False)
    from ultralytics.utils import ONLINE

    if ONLINE:
        try:
            return PlayerDetector(ultralytics.YOLO(COCO_WEIGHTS), COCO_WEIGHTS)
        except Exception as err:
            print(f"note: {COCO_WEIGHTS} unavailable ({type(err).__name__}); using {BUNDLED_DETECTOR}", file=sys.stderr)
    if not bundled_detector_dir().is_dir():
        raise VimssError(f"no network for {COCO_WEIGHTS} and no bundled detector: pass --detector or --boxes")
    return load_detector_folder(bundled_detector_dir())


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
    ultralytics = _ultralytics(offline=True)
    try:
        yolo = ultralytics.YOLO(str(folder / DETECTOR_YAML), task="detect", verbose=False)
        state = load_file(str(folder / DETECTOR_WEIGHTS))
        yolo.model.load_state_dict({k: v.to(yolo.model.state_dict()[k].dtype) for k, v in state.items()})
    except Exception as err:
        raise VimssError(f"broken detector folder {folder}: {first_line(err)}") from None
    yolo.model.eval()
    names = yolo.model.yaml.get("names") or {0: "player"}
    yolo.model.names = {int(k): v for k, v in dict(enumerate(names) if isinstance(names, list) else names).items()}
    return PlayerDetector(yolo, folder.name, _person_class(yolo.model.names))


def save_detector(model: torch.nn.Module, folder: Path, names: dict[int, str], half: bool = True) -> Path:
    """Save an ultralytics DetectionModel as model YAML (with its class names) + safetensors."""
    import yaml
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    config = {**model.yaml, "nc": len(names), "names": {int(k): v for k, v in names.items()}}
    (folder / DETECTOR_YAML).write_text(yaml.safe_dump(config, sort_keys=False))
    state = {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / DETECTOR_WEIGHTS))
    return folder
