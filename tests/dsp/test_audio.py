import threading
import time

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio

from tests.conftest import harmonic_mix
from tests.media import write_media
from vimss_cli.dsp.audio import AtomicAudioWriter, load_audio, open_audio, resample_stream, write_audio
from vimss_cli.errors import VimssError


@pytest.mark.parametrize("ext", [".wav", ".flac", ".ogg", ".mp3", ".mp4", ".m4a", ".mkv", ".mov", ".webm"])
def test_every_supported_container_reads_at_its_own_rate_and_channels(tmp_path, ext):
    sr = 48000
    mix = harmonic_mix(sr, 1.0, 2)
    wave, rate = load_audio(write_media(tmp_path / f"in{ext}", mix, sr))
    assert rate == sr and wave.shape[0] == 2 and wave.dtype == np.float32
    # lossy codecs add priming/padding frames; the music is the same
    assert abs(wave.shape[1] - sr) < 0.1 * sr
    if ext in (".wav", ".flac"):
        np.testing.assert_allclose(wave, mix, atol=1e-4)
    else:
        n = min(wave.shape[1], sr)
        assert np.abs(wave[:, :n]).max() > 0.1


def test_blocks_cover_the_file_exactly(tmp_path):
    mix = harmonic_mix(22050, 2.0, 1)
    path = write_media(tmp_path / "a.wav", mix, 22050)
    with open_audio(path) as reader:
        blocks = list(reader.blocks(10000))
    assert [b.shape[1] for b in blocks] == [10000] * 4 + [4100]
    np.testing.assert_allclose(np.concatenate(blocks, axis=1), mix, atol=1e-4)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("missing.wav", None, "input not found"),
        ("empty.wav", b"", "input is empty"),
        ("junk.wav", b"RIFF0000WAVEjunk" * 8, "cannot decode"),
        ("junk.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x07" * 100, "cannot decode"),
        ("notes.txt", b"hello", "unsupported input format '.txt'"),
    ],
)
def test_bad_inputs_are_one_line_errors(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(VimssError, match=message) as info:
        load_audio(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("ext", [".wav", ".ogg"])
def test_truncated_files_are_refused(tmp_path, ext):
    path = write_media(tmp_path / f"t{ext}", harmonic_mix(44100, 2.0, 2), 44100)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VimssError, match="truncated"):
        load_audio(path)


def test_video_without_audio_is_refused(tmp_path):
    path = write_media(tmp_path / "silent.mp4", None, 44100)
    with pytest.raises(VimssError, match="has no audio stream"):
        load_audio(path)


def test_atomic_writer_leaves_nothing_when_discarded(tmp_path):
    writer = AtomicAudioWriter(tmp_path / "stem.wav", 8000, 1, "wav", "16")
    writer.write(np.zeros((1, 100), np.float32))
    writer.discard()
    assert list(tmp_path.iterdir()) == []
    path = write_audio(tmp_path / "stem.flac", np.full((2, 50), 0.25, np.float32), 8000, "flac", "24")
    assert [p.name for p in tmp_path.iterdir()] == ["stem.flac"]
    assert sf.info(path).subtype == "PCM_24"


def test_flac_cannot_hold_float(tmp_path):
    with pytest.raises(VimssError, match="flac cannot hold 32-bit float"):
        AtomicAudioWriter(tmp_path / "x.flac", 8000, 1, "flac", "32f")


def split_at_random(x: torch.Tensor, seed: int) -> list[torch.Tensor]:
    """`x` cut along its last axis into blocks of 1 to 5000 samples."""
    generator, blocks, start = np.random.default_rng(seed), [], 0
    while start < x.shape[-1]:
        n = int(generator.choice([1, 7, 300, 5000]))
        blocks.append(x[..., start : start + n])
        start += n
    return blocks


@pytest.mark.parametrize(
    "rates", [(44100, 11025), (48000, 11025), (96000, 11025), (11025, 44100), (11025, 48000), (8000, 11025)]
)
def test_resampling_a_stream_equals_resampling_the_whole(rates):
    x = torch.randn(2, 30001)
    joined = torch.cat(list(resample_stream(split_at_random(x, seed=rates[0]), *rates)), dim=-1)
    torch.testing.assert_close(joined, torchaudio.functional.resample(x, *rates), rtol=0, atol=1e-6)


def test_reading_ahead_gives_the_blocks_and_stops_when_the_consumer_does():
    from vimss_cli.dsp.audio import read_ahead

    blocks = [np.full((2, 3), k, dtype=np.float32) for k in range(5)]
    assert [b[0, 0] for b in read_ahead(iter(blocks))] == [0, 1, 2, 3, 4]
    for taken in range(1, 6):  # stopping after any block, the end marker included, must not hang
        reader = read_ahead(iter(blocks[:3]))
        finished = threading.Event()
        # the pause lets the thread reach its next hand-over before the consumer stops
        closer = threading.Thread(
            target=lambda r=reader, n=taken, done=finished: (
                [next(r, None) for _ in range(n)],
                time.sleep(0.3),
                r.close(),
                done.set(),
            )
        )
        closer.start()
        closer.join(timeout=10)
        assert finished.is_set(), f"read_ahead hung when its consumer stopped after {taken} blocks"

    def broken():
        yield blocks[0]
        raise VimssError("cannot decode x.flac: bad frame")

    with pytest.raises(VimssError, match="bad frame"):
        list(read_ahead(broken()))
