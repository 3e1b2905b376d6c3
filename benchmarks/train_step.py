"""Seconds per training step of the default recipe (label-multiply U-Net 8-256, batch 8 of
2-4 sources, 65535 samples), on the CPU: the step as `vimss train` takes it (STFTs and mask loss
over the instruments that play) beside the same step over all 13 slots, interleaved in one
process so that both see the same machine.

    .venv/bin/python benchmarks/train_step.py [--threads 2] [--repeats 8]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from vimss_cli.constants import SEGMENT_SAMPLES
from vimss_cli.dsp.spectral import stft
from vimss_cli.instruments import N_INSTRUMENTS
from vimss_cli.nets.family import build_model
from vimss_cli.training.config import TrainConfig
from vimss_cli.training.data import Example
from vimss_cli.training.losses import mask_loss
from vimss_cli.training.step import batch_loss

RECIPE = Path(__file__).resolve().parent.parent / "scripts" / "configs" / "realistic-from-scratch.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = TrainConfig.load(RECIPE)
    model = build_model(config.model)
    optimizer = torch.optim.Adam(model.parameters(), config.lr)
    gen = torch.Generator().manual_seed(0)
    labels = torch.zeros(config.batch_size, N_INSTRUMENTS)
    for i in range(config.batch_size):
        labels[i, torch.randperm(N_INSTRUMENTS, generator=gen)[: 2 + i % 3]] = 1
    sources = 0.1 * torch.randn(config.batch_size, N_INSTRUMENTS, SEGMENT_SAMPLES, generator=gen) * labels[:, :, None]
    batch = Example(sources.sum(1), sources, labels)

    def playing_only() -> None:
        loss, _, _ = batch_loss(model, batch, config.model)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def every_slot() -> None:
        spec = stft(batch.mix)
        loss = mask_loss(model(spec.abs(), labels), stft(batch.sources).abs(), spec.abs(), binary=False)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    steps = {"as trained (instruments that play)": playing_only, "all 13 slots": every_slot}
    times: dict[str, list[float]] = {name: [] for name in steps}
    for step in steps.values():
        step()  # warm-up
    for _ in range(args.repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    print(f"| training step ({args.threads} threads, batch {config.batch_size}) | median s | min s |")
    print("|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.3f} | {min(values):.3f} |")


if __name__ == "__main__":
    main()
