"""Where a model runs: `--device` resolved to a torch device, and the process group of a
multi-GPU run under torchrun (DDP)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
import torch.distributed as dist

from .errors import VimssError

if TYPE_CHECKING:
    from .nets.checkpoints import LoadedModel


def resolve_device(device: str, index: int | None = None) -> torch.device:
    """`--device auto|cpu|cuda` as a torch device (`index`: the GPU of this process under torchrun)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise VimssError(f"unknown device '{device}' (choose auto, cpu or cuda)")
    if device == "cuda" and not torch.cuda.is_available():
        raise VimssError("--device cuda was asked for, but no CUDA GPU is available")
    return torch.device(device, index) if device == "cuda" and index is not None else torch.device(device)


def move_to_device(loaded: LoadedModel, device: str) -> torch.device:
    """Resolve `--device`, move the model there and return the device."""
    dev = resolve_device(device)
    loaded.model.to(dev)
    return dev


@contextlib.contextmanager
def process_group() -> Iterator[tuple[int, int, int]]:
    """(rank, world size, local rank), in the process group under torchrun.

    A rank that finishes waits for the others (rank 0 may still be saving), and the group
    is torn down before the process exits: a process that exits with a gloo group open
    can abort ("terminate called without an active exception", pytorch/pytorch#190489).
    After an error it is left to torchrun, which stops the other ranks: tearing it down
    while they wait in a collective could hang (pytorch/torchtitan#1342).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    joined = world > 1 and not dist.is_initialized()
    if joined:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    yield int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0"))
    if world > 1:
        dist.barrier()
    if joined:
        dist.destroy_process_group()
