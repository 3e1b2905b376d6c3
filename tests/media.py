"""Writers for the test inputs: every container the readers claim to support."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import soundfile as sf

AUDIO_CODEC = {
    ".mp4": "aac",
    ".m4a": "aac",
    ".mov": "aac",
    ".mkv": "aac",
    ".mka": "aac",
    ".webm": "libopus",
    ".opus": "libopus",
    ".aac": "aac",
}
VIDEO_CODEC = {".mp4": "libx264", ".mov": "libx264", ".mkv": "libx264", ".webm": "libvpx"}


def write_media(path: Path, audio: np.ndarray | None, sr: int, video: bool = True) -> Path:
    """Write (channels, frames) audio to any supported extension; video gets 1 s of frames."""
    ext = path.suffix
    if ext in (".wav", ".flac", ".ogg", ".mp3"):
        assert audio is not None, "an audio file needs audio"
        sf.write(path, audio.T, sr)
        return path
    with av.open(str(path), "w") as container:
        vstream: av.video.stream.VideoStream | None = None
        astream: av.audio.stream.AudioStream | None = None
        if video and ext not in (".m4a", ".mka", ".opus", ".aac"):
            added = container.add_stream(VIDEO_CODEC[ext], rate=10)
            assert isinstance(added, av.video.stream.VideoStream)
            vstream = added
            vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
        if audio is not None:
            layout = "stereo" if audio.shape[0] == 2 else "mono"
            sound = container.add_stream(AUDIO_CODEC[ext], rate=sr)
            assert isinstance(sound, av.audio.stream.AudioStream)
            astream = sound
            astream.layout = layout
        if vstream is not None:
            for i in range(10):
                frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * i, np.uint8), format="rgb24")
                for packet in vstream.encode(frame):
                    container.mux(packet)
            for packet in vstream.encode():
                container.mux(packet)
        if audio is not None and astream is not None:
            _mux_audio(container, astream, audio, sr)
    return path


def _mux_audio(
    container: av.container.OutputContainer, stream: av.audio.stream.AudioStream, audio: np.ndarray, sr: int
) -> None:
    """Encode (channels, frames) float audio into `stream` and flush it."""
    layout = "stereo" if audio.shape[0] == 2 else "mono"
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio, dtype=np.float32), format="fltp", layout=layout)
    frame.sample_rate = sr
    for packet in [*stream.encode(frame), *stream.encode(None)]:
        container.mux(packet)


def write_counting_video(path: Path, frames: int, fps: int = 10, size: tuple[int, int] = (64, 48)) -> Path:
    """A silent video whose frame i is flat grey of level 4 * i: which frame a reader
    returned can be read off its pixels. Keyframes every 12 frames, so seeks are real."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"g": "12", "keyint_min": "12"})
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(frames):
            image = np.full((size[1], size[0], 3), 4 * i, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def synth_with_video(root: Path, layout: str, pieces: int = 2, seconds: float = 3.0) -> Path:
    """A `vimss synth --video` dataset of a generated trio score, with pretty_midi's soundfont."""
    import pretty_midi

    from vimss_cli.synth.dataset import synthesize
    from vimss_cli.synth.settings import SynthSettings

    root.mkdir(parents=True, exist_ok=True)
    midi = pretty_midi.PrettyMIDI()
    for k, pitch in enumerate((76, 60, 43)):
        track = pretty_midi.Instrument(program=0, name=f"line {k}")
        track.notes = [pretty_midi.Note(90, pitch + i % 4, i * 0.25, i * 0.25 + 0.2) for i in range(24)]
        midi.instruments.append(track)
    midi.write(str(root / "trio.mid"))
    soundfont = str(Path(pretty_midi.__file__).parent / "TimGM6mb.sf2")
    settings = SynthSettings(
        layout, (soundfont,), sample_rate=11025, seconds=seconds, split="all", video=True, max_parts=3
    )
    synthesize(root / layout, [root / "trio.mid"], settings, pieces=pieces)
    return root / layout


def write_picture_video(
    path: Path, picture: np.ndarray | None, audio: np.ndarray, sr: int, seconds: float, fps: int = 5, seed: int = 0
) -> Path:
    """A video showing `picture` (H, W, 3 uint8) still, or random noise frames when None,
    over (channels, frames) audio: real photographs and meaningless pictures as videos."""
    rng = np.random.default_rng(seed)
    height, width = picture.shape[:2] if picture is not None else (360, 640)
    with av.open(str(path), "w") as container:
        vstream = container.add_stream("libx264", rate=fps)
        vstream.width, vstream.height, vstream.pix_fmt = width - width % 2, height - height % 2, "yuv420p"
        layout = "stereo" if audio.shape[0] == 2 else "mono"
        astream = container.add_stream("aac", rate=sr)
        astream.layout = layout
        for _ in range(max(1, round(seconds * fps))):
            image = picture if picture is not None else rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(image[: vstream.height, : vstream.width]), format="rgb24"
            )
            for packet in vstream.encode(frame):
                container.mux(packet)
        for packet in vstream.encode():
            container.mux(packet)
        _mux_audio(container, astream, audio, sr)
    return path


def real_photos() -> dict[str, tuple[np.ndarray, int]]:
    """Real photographs of people that ship inside installed packages, with how many people
    each shows: ultralytics' zidane (2) and bus (4), matplotlib's grace_hopper tiled 3x (3)."""
    import matplotlib
    import ultralytics
    from PIL import Image

    assets = Path(ultralytics.__file__).parent / "assets"
    hopper = np.asarray(
        Image.open(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg").convert("RGB")
    )
    return {
        "zidane": (np.asarray(Image.open(assets / "zidane.jpg").convert("RGB")), 2),
        "bus": (np.asarray(Image.open(assets / "bus.jpg").convert("RGB")), 4),
        "hopper3": (np.concatenate([hopper] * 3, axis=1), 3),
    }
