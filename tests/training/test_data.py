import math

import numpy as np
import pytest
import soundfile as sf
import torch

from vimss_cli.errors import VimssError
from vimss_cli.training.data import MixAndSeparate, solos_recordings


@pytest.fixture
def solos(tmp_path):
    rng = np.random.default_rng(0)
    for folder, f0 in (("Violin", 660.0), ("Cello", 130.0), ("Flute", 880.0)):
        (tmp_path / folder).mkdir()
        for i in range(2):
            t = np.arange(22050 * 8) / 22050
            wave = 0.2 * np.sin(2 * np.pi * f0 * (1 + 0.1 * i) * t)
            wave[: int(22050 * 6.5)] = 0  # segments starting in the first 0.56 s are silent: redrawn
            sf.write(tmp_path / folder / f"rec{i}.flac", wave + 1e-5 * rng.standard_normal(len(t)), 22050)
    (tmp_path / "Violin" / "notes.txt").write_text("not audio")
    return tmp_path


def test_solos_layout_maps_folders_to_classes(solos):
    found = solos_recordings(solos)
    assert sorted(found) == [0, 2, 4]  # vn, vc, fl in the table's order
    assert [p.name for p in found[0]] == ["rec0.flac", "rec1.flac"]


def test_one_instrument_is_not_enough(tmp_path):
    (tmp_path / "Violin").mkdir()
    sf.write(tmp_path / "Violin" / "a.wav", np.zeros(100), 8000)
    with pytest.raises(VimssError, match="at least two instruments"):
        solos_recordings(tmp_path)


def test_mixtures_follow_the_paper(solos):
    data = MixAndSeparate(solos_recordings(solos), size=12, max_sources=3, seed=1)
    counts = set()
    for i in range(len(data)):
        ex = data[i]
        present = ex.labels.nonzero().flatten()
        counts.add(len(present))
        assert ex.mix.shape == (65535,) and ex.sources.shape == (13, 65535)
        torch.testing.assert_close(ex.mix, ex.sources.sum(0))
        # each source was scaled to peak 1, then divided by the number of sources
        peaks = ex.sources[present].abs().amax(-1)
        torch.testing.assert_close(peaks, torch.full_like(peaks, 1 / len(present)))
        assert ex.sources[ex.labels == 0].abs().max() == 0
    assert counts == {2, 3}


def test_items_are_deterministic_per_seed(solos):
    recs = solos_recordings(solos)
    a, b = MixAndSeparate(recs, 4, seed=3), MixAndSeparate(recs, 4, seed=3)
    assert torch.equal(a[2].mix, b[2].mix)
    assert not torch.equal(a[2].mix, MixAndSeparate(recs, 4, seed=4)[2].mix)


def test_silent_recordings_are_rejected(tmp_path):
    for folder in ("Violin", "Viola"):
        (tmp_path / folder).mkdir()
        sf.write(tmp_path / folder / "quiet.wav", np.zeros(22050 * 7), 22050)
    with pytest.raises(VimssError, match="no non-silent segment"):
        MixAndSeparate(solos_recordings(tmp_path), 1, max_tries=3)[0]


def test_a_dataloader_batches_examples(solos):
    loader = torch.utils.data.DataLoader(MixAndSeparate(solos_recordings(solos), 6, seed=0), batch_size=3)
    batch = next(iter(loader))
    assert batch.mix.shape == (3, 65535) and batch.sources.shape == (3, 13, 65535) and batch.labels.shape == (3, 13)


def _peak_hz(wave: torch.Tensor, rate: int = 11025) -> float:
    spectrum = torch.fft.rfft(wave * torch.hann_window(len(wave)))
    return float(spectrum.abs().argmax()) * rate / len(wave)


def test_tape_speed_moves_each_solo_source_by_its_own_drawn_factor(solos):
    import random

    from vimss_cli.training.data import SPEED_DENOMINATOR, draw_speed

    recs = solos_recordings(solos)
    plain = MixAndSeparate(recs, 8, max_sources=3, seed=5)
    fast = MixAndSeparate(recs, 8, max_sources=3, seed=5, speed_semitones=3.0)
    assert MixAndSeparate(recs, 8, max_sources=3, seed=5, speed_semitones=0.0)[1].mix.equal(plain[1].mix)
    ratios = []
    for i in range(len(fast)):
        ex, ref = fast[i], plain[i]
        torch.testing.assert_close(ex.mix, ex.sources.sum(0))
        assert ex.sources.shape == (13, 65535) and torch.equal(ex.labels, ref.labels)
        for k in ex.labels.nonzero().flatten():
            # the tones are steady sines (recording 1 is 10% above recording 0): the
            # ratio to the nearest unshifted frequency is the drawn speed
            hz = _peak_hz(ex.sources[k])
            base = {"Violin": 660.0, "Cello": 130.0, "Flute": 880.0}[recs[int(k)][0].parent.name]
            ratio = min((hz / (base * f) for f in (1.0, 1.1)), key=lambda r: abs(math.log(r)))
            assert 2 ** (-3.1 / 12) < ratio < 2 ** (3.1 / 12)
            ratios.append(ratio)
    assert max(ratios) / min(ratios) > 1.05  # the factors vary between sources
    # the drawn factor is a fraction over SPEED_DENOMINATOR within the range
    draws = [draw_speed(random.Random(s), 2.0) for s in range(200)]
    assert min(draws) >= round(SPEED_DENOMINATOR * 2 ** (-2 / 12)) and max(draws) <= round(
        SPEED_DENOMINATOR * 2 ** (2 / 12)
    )
    assert draw_speed(random.Random(0), 0.0) == SPEED_DENOMINATOR


def test_read_segment_at_a_tape_speed_scales_every_frequency_by_it(solos):
    from vimss_cli.training.data import read_segment

    path = solos_recordings(solos)[4][0]  # Flute rec0: 880 Hz at 22.05 kHz, from 6.5 s on
    start = int(22050 * 6.6)
    plain = read_segment(path, start, 8192)
    for speed in (89, 100, 112):
        wave = read_segment(path, start, 8192, speed=speed)
        assert wave.shape == (8192,)
        assert _peak_hz(wave) == pytest.approx(_peak_hz(plain) * speed / 100, rel=0.01)


def test_aligned_pieces_move_every_player_by_one_speed(tmp_path):
    from vimss_cli.evaluation.urmp import urmp_pieces
    from vimss_cli.training.data import PieceSegments

    piece = tmp_path / "01_Tones_vn_vc"
    piece.mkdir()
    t = np.arange(11025 * 10) / 11025
    stems = {"vn": 0.3 * np.sin(2 * np.pi * 660 * t), "vc": 0.3 * np.sin(2 * np.pi * 165 * t)}
    for n, (inst, wave) in enumerate(stems.items(), 1):
        sf.write(piece / f"AuSep_{n}_{inst}_01_Tones.wav", wave, 11025)
    sf.write(piece / "AuMix_01_Tones_vn_vc.wav", sum(stems.values()), 11025)
    data = PieceSegments(urmp_pieces(tmp_path)[0], 6, seed=0, gain_db=0.0, speed_semitones=2.0)
    speeds = []
    for i in range(len(data)):
        ex = data[i]
        torch.testing.assert_close(ex.sources.sum(0), ex.mix, atol=1e-5, rtol=0)
        violin, cello = (_peak_hz(ex.sources[index]) for index in (0, 2))
        assert violin / cello == pytest.approx(4.0, rel=0.005)  # still in tune with each other
        speeds.append(violin / 660)
        assert 2 ** (-2.1 / 12) < speeds[-1] < 2 ** (2.1 / 12)
    assert max(speeds) / min(speeds) > 1.03
