"""Training a player detector: a YOLO dataset from `vimss synth --video` folders (frames and
their recorded boxes) and an offline ultralytics run saved in the bundled folder format. Run
by `scripts/train_detector.py`; detection at run time is `detector.py`."""

from __future__ import annotations

from pathlib import Path

from ..errors import VimssError
from ..video.detector import offline_ultralytics, save_detector


def detector_dataset(
    folders: list[Path], out: Path, frames_per_video: int = 6, val_share: float = 0.1, seed: int = 0
) -> Path:
    """A YOLO dataset (images/, labels/, data.yaml) from `vimss synth --video` folders:
    frames at random times of every video, labelled with its players' boxes from the
    manifest (class 0, player). Returns data.yaml."""
    import random

    from PIL import Image

    from ..video.frames import read_frames, video_info
    from .data import manifest_boxes

    rng = random.Random(seed)
    for folder in folders:
        if not (Path(folder) / "manifest.json").is_file():
            raise VimssError(f"{folder} has no manifest.json: make it with `vimss synth --video`")
    videos = list(manifest_boxes(folders).items())
    if not videos:
        raise VimssError("no videos with player boxes in " + ", ".join(map(str, folders)))
    for split in ("train", "val"):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
    for n, (video, boxes) in enumerate(videos):
        split = "val" if n % max(2, round(1 / val_share)) == 0 else "train"  # every tenth video, the first included
        info = video_info(video)
        times = sorted(rng.uniform(0, max(0.0, info.duration - 0.1)) for _ in range(frames_per_video))
        lines = "".join(
            f"0 {(b.x1 + b.x2) / 2 / info.width:.6f} {(b.y1 + b.y2) / 2 / info.height:.6f} "
            f"{(b.x2 - b.x1) / info.width:.6f} {(b.y2 - b.y1) / info.height:.6f}\n"
            for b in boxes
        )
        for k, frame in enumerate(read_frames(video, times)):
            stem = f"{n:05d}_{k}"
            Image.fromarray(frame).save(out / "images" / split / f"{stem}.jpg", quality=92)
            (out / "labels" / split / f"{stem}.txt").write_text(lines)
    data = out / "data.yaml"
    data.write_text(f"path: {out.resolve()}\ntrain: images/train\nval: images/val\nnames:\n  0: player\n")
    return data


def train_detector(
    data: Path,
    out: Path,
    *,
    epochs: int,
    base: str = "yolov8n.yaml",
    image_size: int = 320,
    batch: int = 16,
    workers: int = 2,
    seed: int = 0,
) -> Path:
    """Train a one-class YOLO on a `detector_dataset` offline and save it in the bundled
    folder format; ultralytics' own run folder goes under `out/ultralytics`."""
    ultralytics = offline_ultralytics()
    yolo = ultralytics.YOLO(base)
    yolo.train(
        data=str(data),
        epochs=epochs,
        imgsz=image_size,
        batch=batch,
        workers=workers,
        seed=seed,
        device="cpu",
        project=str(out.resolve() / "ultralytics"),
        name="run",
        exist_ok=True,
        plots=False,
        verbose=False,
        amp=False,
        fliplr=0.5,
        mosaic=1.0,
    )
    best = out / "ultralytics" / "run" / "weights" / "best.pt"
    trained = ultralytics.YOLO(str(best))  # our own run's file
    return save_detector(trained.model.float(), out / "detector", {0: "player"}, image_size)
