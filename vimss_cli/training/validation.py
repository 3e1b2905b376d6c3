"""Validation: the loss and SI-SDR improvement of a model on a fixed set (a recogniser's: the
share of mixtures whose instruments it names exactly), and their mean over the folds (one set
per `--val-data` folder)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..dsp.metrics import is_silent, si_sdr
from ..nets.family import Model
from ..nets.recognizer import HEARD, InstrumentRecognizer
from .config import TrainConfig
from .data import Example
from .sets import TrainingSet
from .step import batch_loss


@dataclass
class Validation:
    loss: float
    si_sdr: float
    si_sdri: float
    folds: tuple[float, ...] = ()
    """The score on each validation folder when there are several; the other fields are
    their means, so a run is chosen on the mean over the folds."""
    report: tuple[float, ...] = ()
    """The score on each `--report-data` folder: logged beside, never used to choose."""
    exact_sets: float = math.nan
    """A recogniser's share of mixtures whose instruments it names exactly (nan for separators)."""

    @property
    def score(self) -> float:
        """What chooses `best/`: the SI-SDR improvement, or a recogniser's exact sets."""
        return self.si_sdri if math.isnan(self.exact_sets) else self.exact_sets

    @staticmethod
    def over_folds(results: list[Validation]) -> Validation:
        """The mean of each fold's validation (one fixed set per `--val-data` folder): pooled,
        a fold with more or longer pieces would outweigh the others."""
        if len(results) == 1:
            return results[0]
        return Validation(
            statistics.fmean(r.loss for r in results),
            statistics.fmean(r.si_sdr for r in results),
            statistics.fmean(r.si_sdri for r in results),
            tuple(r.score for r in results),
            exact_sets=statistics.fmean(r.exact_sets for r in results),
        )


@torch.inference_mode()
def validate(
    model: Model,
    dataset: TrainingSet,
    config: TrainConfig,
    dev: torch.device,
    rank: int = 0,
    world: int = 1,
    workers: int = 0,
) -> Validation:
    """Loss and SI-SDR (and its improvement over the mix) of present, non-silent sources on the fixed set."""
    model.eval()
    subset = torch.utils.data.Subset(dataset, range(rank, len(dataset), world))
    loader = torch.utils.data.DataLoader(subset, batch_size=config.batch_size, num_workers=workers)
    if isinstance(model, InstrumentRecognizer):
        return _validate_recognizer(model, loader, config, dev, world)
    totals = torch.zeros(
        4, dtype=torch.float64
    )  # loss sum, examples, SI-SDR sum, SI-SDRi sum (per source: count below)
    count = torch.zeros(1, dtype=torch.float64)
    for batch in loader:
        loss, estimates, scored = batch_loss(
            model, Example(*(t.to(dev) for t in batch)), config.model, estimates=True, loss_kind=config.loss
        )
        mix, sources, labels = scored.mix, scored.sources, scored.labels
        totals[0] += loss.item() * mix.shape[0]
        totals[1] += mix.shape[0]
        assert estimates is not None, "asked for with estimates=True"
        present = (labels > 0) & ~is_silent(sources)
        scores = si_sdr(sources, estimates)[present]
        baseline = si_sdr(sources, mix.unsqueeze(1).expand_as(sources))[present]
        totals[2] += scores.sum().cpu()
        totals[3] += (scores - baseline).sum().cpu()
        count += present.sum().cpu()
    if world > 1:
        dist.all_reduce(totals)
        dist.all_reduce(count)
    n = max(1.0, count.item())
    return Validation(totals[0].item() / max(1.0, totals[1].item()), totals[2].item() / n, totals[3].item() / n)


def _validate_recognizer(
    model: InstrumentRecognizer, loader: torch.utils.data.DataLoader, config: TrainConfig, dev: torch.device, world: int
) -> Validation:
    """Loss and the share of mixtures whose instruments are named exactly (each class heard
    from HEARD on)."""
    totals = torch.zeros(3, dtype=torch.float64)  # loss sum, examples, exact sets
    for batch in loader:
        loss, probabilities, scored = batch_loss(
            model, Example(*(t.to(dev) for t in batch)), config.model, estimates=True
        )
        assert probabilities is not None, "asked for with estimates=True"
        exact = ((probabilities >= HEARD) == (scored.labels > 0)).all(dim=-1)
        totals += torch.tensor([loss.item() * len(exact), len(exact), exact.sum().item()], dtype=torch.float64)
    if world > 1:
        dist.all_reduce(totals)
    n = max(1.0, totals[1].item())
    return Validation(totals[0].item() / n, math.nan, math.nan, exact_sets=100 * totals[2].item() / n)
