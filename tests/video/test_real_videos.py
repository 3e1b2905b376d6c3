"""Videos a new user has: real people, meaningless pictures, no sound."""

import numpy as np
import pytest

from tests.helpers import ROOT, assert_one_line_error, vimss
from tests.media import real_photos, write_picture_video

DUET = ROOT / "examples" / "duet.flac"

PHOTOS = real_photos()
FOUND = {"zidane": 1, "bus": 0, "hopper3": 3}
"""What the bundled detector finds in them through a video, as the README says."""


def _duet_audio(seconds: float = 4.0) -> tuple[np.ndarray, int]:
    import soundfile as sf

    wave, sr = sf.read(DUET, dtype="float32", frames=int(seconds * 44100))
    return wave.T, sr


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_a_video_of_real_people_separates_and_says_what_it_found(tmp_path, name):
    picture, people = PHOTOS[name]
    audio, sr = _duet_audio()
    video = write_picture_video(tmp_path / f"{name}.mp4", picture, audio, sr, 4.0)
    instruments = ",".join(["vn", "vc", "va", "db"][:people])
    result = vimss("separate", video, "-i", instruments, "-o", tmp_path / "out", "--save-boxes", tmp_path / "boxes.png")
    assert result.exit_code == 0, result.output  # never fails where the audio alone would work
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    if FOUND[name] == people:
        assert warnings == []
    else:
        assert (
            len(warnings) == 1
            and f"found {FOUND[name]} player" in warnings[0]
            and "equal vertical strips" in warnings[0]
        )
    assert (tmp_path / "boxes.png").is_file()
    assert sorted(p.name for p in (tmp_path / "out").rglob("*.wav")) == sorted(
        f"{i}.wav" for i in instruments.split(",")
    )


def test_a_noise_video_falls_back_to_strips_with_a_warning(tmp_path):
    audio, sr = _duet_audio(3.0)
    video = write_picture_video(tmp_path / "noise.mp4", None, audio, sr, 3.0)
    result = vimss("separate", video, "-i", "vn,vc", "-o", tmp_path / "out", "--save-boxes", tmp_path / "b.png")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "b.png").is_file() and len(list((tmp_path / "out").rglob("*.wav"))) == 2
    assert "found 0 players" in result.stderr  # as the README says: no "player" in noise


def test_the_saved_picture_labels_read_at_1080p(tmp_path):
    from PIL import Image

    from vimss_cli.boxes import Box
    from vimss_cli.video.players import draw_boxes

    frame = np.full((1080, 1920, 3), 255, np.uint8)
    draw_boxes(frame, [Box(100, 100, 900, 1000), Box(1000, 100, 1800, 1000)], ["vn", "vc"], tmp_path / "b.png")
    image = np.asarray(Image.open(tmp_path / "b.png").convert("RGB"))
    band = np.all(image[100:220, 100:400] == 0, axis=-1)  # the dark band behind the first label
    rows = np.flatnonzero(band.any(axis=1))
    assert rows[-1] - rows[0] >= 30  # a label some 36 px high, not the 11-px default font


def test_boxes_outside_the_frame_or_on_audio_are_errors(tmp_path):
    audio, sr = _duet_audio(2.0)
    video = write_picture_video(tmp_path / "v.mp4", PHOTOS["zidane"][0], audio, sr, 2.0)
    result = vimss("separate", video, "-i", "vn,vc", "-o", tmp_path, "--boxes", "0,0,600,720;600,0,5000,720")
    assert_one_line_error(result, "reaches outside the 1280x720 frame")
    assert_one_line_error(
        vimss("separate", DUET, "-i", "vn,vc", "-o", tmp_path, "--boxes", "0,0,10,10;10,0,20,10"),
        "--boxes needs a video",
    )


def test_a_video_without_sound_says_so_before_detection(tmp_path):
    from tests.media import write_counting_video

    video = write_counting_video(tmp_path / "silent.mp4", 20)
    assert_one_line_error(vimss("separate", video, "-i", "vn,vc", "-o", tmp_path), "has no audio stream")
