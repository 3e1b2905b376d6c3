"""Frame sampling from video files (PyAV)."""

import pytest

from tests.media import write_counting_video, write_media
from vimss_cli.errors import VimssError
from vimss_cli.video.frames import has_video, read_frames, segment_frame_times, video_info


def frame_index(image) -> int:
    return round(float(image.mean()) / 4)


@pytest.fixture(scope="module")
def counting(tmp_path_factory):
    return write_counting_video(tmp_path_factory.mktemp("video") / "count.mp4", frames=60, fps=10)


def test_video_info(counting):
    info = video_info(counting)
    assert (info.width, info.height, info.fps) == (64, 48, 10.0)
    assert info.duration == pytest.approx(6.0, abs=0.15) and not info.has_audio


def test_frames_are_the_ones_shown_at_the_asked_times(counting):
    # forward steps, a jump past the seek threshold, the last frame, and past the end
    times = [0.0, 0.05, 0.1, 0.55, 0.55, 3.04, 4.5, 5.95, 9.0]
    assert [frame_index(f) for f in read_frames(counting, times)] == [0, 0, 1, 5, 5, 30, 45, 59, 59]


def test_frames_have_the_videos_size_in_rgb(counting):
    (frame,) = read_frames(counting, [1.0])
    assert frame.shape == (48, 64, 3) and frame.dtype.name == "uint8"


def test_times_must_ascend(counting):
    with pytest.raises(ValueError, match="ascending"):
        list(read_frames(counting, [2.0, 1.0]))


def test_segment_frame_times():
    assert segment_frame_times([0.0, 2.5], 5.0) == [[0.0], [2.5]]
    assert segment_frame_times([1.0], 4.0, frames_per_segment=4) == [[1.0, 2.0, 3.0, 4.0]]


def test_audio_only_and_missing_files_are_errors(tmp_path):
    import numpy as np

    audio = write_media(tmp_path / "a.m4a", np.zeros((1, 4410), np.float32), 44100)
    with pytest.raises(VimssError, match="no video stream"):
        video_info(audio)
    with pytest.raises(VimssError, match="not found"):
        list(read_frames(tmp_path / "missing.mp4", [0.0]))


def test_has_video_tells_videos_from_audio_files(tmp_path, counting):
    import numpy as np

    silence = np.zeros((1, 4410), np.float32)
    assert has_video(counting) and has_video(write_media(tmp_path / "v.mp4", silence, 44100))
    assert not has_video(write_media(tmp_path / "a.m4a", silence, 44100))
    assert not has_video(write_media(tmp_path / "a.flac", silence, 44100))
    assert not has_video(tmp_path / "missing.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    assert not has_video(tmp_path / "junk.mp4")
