import numpy as np
import pytest
import soundfile as sf
import torch

from vimss_cli.data import MixAndSeparate, solos_recordings
from vimss_cli.errors import VimssError


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
