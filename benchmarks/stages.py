"""Where `vimss separate`'s time goes: `separate_file` on one input in this process, with
timers around each stage's functions, printed as JSON (seconds per stage).

    .venv/bin/python benchmarks/stages.py INPUT MODEL INSTRUMENTS [--wiener 1] [--device cpu]

Stages: decode (reading and decoding the input's blocks), resample (to the model's rate,
and back for time-domain models), STFT (the model's STFT and the input-rate STFT), network (the model's
forward pass), interpolate (masks onto the input-rate STFT grid), Wiener (the EM filter),
ISTFT, write (encoding and writing the stems), and other (the rest: mask application,
downmix, overlap-add, cross-fades). Decoding ahead and writing behind in threads are switched off,
so the stages run one after another and add up to more than a normal run; the timers also
add a synchronisation on a GPU.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch
import torchaudio

import vimss_cli.dsp.audio as audio
import vimss_cli.separator as separator
import vimss_cli.stems as stems
from vimss_cli.devices import move_to_device
from vimss_cli.nets.checkpoints import load_model

SECONDS: dict[str, float] = defaultdict(float)


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(stage: str, fn: Callable) -> Callable:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _sync()
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _sync()
            SECONDS[stage] += time.perf_counter() - started

    return wrapper


def timed_iterator(stage: str, make: Callable[..., Iterator]) -> Callable[..., Iterator]:
    """A generator function whose every step counts towards `stage`."""

    def wrapper(*args: Any, **kwargs: Any) -> Iterator:
        it = make(*args, **kwargs)
        step = timed(stage, lambda: next(it, None))
        while (item := step()) is not None:
            yield item

    return wrapper


class InlineExecutor(ThreadPoolExecutor):
    """Runs what is submitted at once, in this thread."""

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def instrument(model: torch.nn.Module) -> None:
    # One stage at a time: no decoding ahead or writing behind in threads. Timing wraps the
    # pipeline's own functions and methods in place: the ignores below are those assignments.
    stems.read_ahead = lambda blocks, *_: blocks
    stems.ThreadPoolExecutor = InlineExecutor  # type: ignore[misc]
    torchaudio.functional.resample = timed("resample", torchaudio.functional.resample)
    separator.stft = timed("STFT", separator.stft)
    separator.istft = timed("ISTFT", separator.istft)
    separator._lerp = timed("interpolate", separator._lerp)
    separator.Separator._wiener = timed("Wiener", separator.Separator._wiener)  # type: ignore[method-assign]
    for reader in (audio.SoundFileReader, audio.ContainerReader):
        reader.blocks = timed_iterator("decode", reader.blocks)  # type: ignore[method-assign]
    audio.AtomicAudioWriter.write = timed("write", audio.AtomicAudioWriter.write)  # type: ignore[method-assign]
    for forward in ("masks", "forward_window"):  # the U-Net's masks, the Wave-U-Net's windows
        if hasattr(model, forward):
            setattr(model, forward, timed("network", getattr(model, forward)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", type=Path)
    parser.add_argument("model")
    parser.add_argument("instruments")
    parser.add_argument("--wiener", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    loaded = load_model(args.model)
    dev = move_to_device(loaded, args.device)
    instrument(loaded.model)
    sep = separator.Separator(loaded.model, dev, wiener_iterations=args.wiener)
    with tempfile.TemporaryDirectory() as out:
        _sync()
        started = time.perf_counter()
        stems.separate_file(sep, args.input, Path(out), args.instruments)
        _sync()
        total = time.perf_counter() - started
    SECONDS["other"] = total - sum(SECONDS.values())
    print(json.dumps({"total": round(total, 3), "stages": {k: round(v, 3) for k, v in SECONDS.items()}}))


if __name__ == "__main__":
    main()
