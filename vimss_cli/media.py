"""A file of any kind to stem files: `separate_media` is what `vimss separate` does for one
input, audio or video. For a video it finds the players first (detection, `boxes` or equal
strips), draws them if asked, and gives a visual model their features; then the audio
streams through `stems.separate_file`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

from .boxes import Box
from .dsp.audio import open_audio
from .errors import VimssError
from .instruments import Instrument, LineUp
from .separator import Separator
from .stems import separate_file
from .video.detector import load_detector
from .video.features import video_source
from .video.frames import has_video
from .video.players import Detector


def separate_media(
    separator: Separator,
    path: str | Path,
    out_dir: Path,
    instruments: LineUp | str | Sequence[str | Instrument],
    *,
    detector: Callable[[], Detector] | None = None,
    boxes: list[Box] | None = None,
    layout: str = "detect",
    save_boxes: Path | None = None,
    on_warning: Callable[[str], None] | None = None,
    on_start: Callable[[int | None], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    fmt: str = "wav",
    bit_depth: str = "16",
    clip_mode: str = "rescale",
    stems: list[str] | None = None,
    two_stems: str | None = None,
    filename: str = "{stem}.{ext}",
    own_folder: bool = True,
) -> dict[str, Path]:
    """Separate the audio (or a video's audio track) of `path` into `<out_dir>/<stem>.<fmt>`.

    A visual model reads the players of the video (one per instrument, left to right);
    `detector` makes the player detector when one is needed (default: the COCO persons
    model, else the bundled one), `boxes` places the players instead, `layout` "strips"
    takes equal vertical strips. `save_boxes` draws the first frame with each player's box
    (for any model). The writing options are `separate_file`'s; warnings go to `on_warning`.
    """
    path = Path(path)
    chosen = LineUp.of(instruments)
    with open_audio(path):  # "has no audio stream" comes before any detection
        pass
    if boxes is not None and not has_video(path):
        raise VimssError(f"--boxes needs a video, and {path} has no pictures")
    model = separator.model
    visual = None
    if model.visual is not None or save_boxes is not None or boxes is not None:  # given boxes are checked
        visual = video_source(
            model.visual,
            path,
            chosen.abbrs,
            separator.segment,
            model.config.visual_frames,
            detector=detector or functools.cache(lambda: load_detector(None)),
            boxes=boxes,
            strips_fallback=True,
            layout=layout,
            on_warning=on_warning,
            save_boxes=save_boxes,
        )
    return separate_file(
        separator,
        path,
        out_dir,
        chosen,
        on_start=on_start,
        on_progress=on_progress,
        visual=visual,
        on_warning=on_warning,
        fmt=fmt,
        bit_depth=bit_depth,
        clip_mode=clip_mode,
        stems=stems,
        two_stems=two_stems,
        filename=filename,
        own_folder=own_folder,
    )
