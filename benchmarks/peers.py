"""Separate one file with a peer's architecture (random weights: speed does not depend on
them) the way its own command line does, and print the time as JSON, like `vimss
separate --json`.

    .venv/bin/python benchmarks/peers.py {umxl,htdemucs} INPUT OUT [--wiener 1] [--device cpu]

- umxl: `openunmix.umxl(pretrained=False)`: four BLSTM target models (hidden 1024, 16 kHz
  bandwidth), STFT 4096/1024, `--wiener` EM iterations (its default: 1), the whole file at
  once, as `umx` does.
- htdemucs: `demucs.htdemucs.HTDemucs` with the released `htdemucs` model's arguments
  (depth 4, 48 channels, 5 cross-transformer layers, 512 bottom channels, dconv mode 3,
  7.8-s segments), through `demucs.apply.apply_model` with `demucs`'s defaults (1 shift,
  overlap 0.25) after its input normalisation.

"seconds" runs from reading the file to the four stems written (16-bit WAV, soundfile),
as `vimss separate`'s does; building the model is outside it.
"""

from __future__ import annotations

import argparse
import json
import time
from fractions import Fraction
from pathlib import Path

import soundfile as sf
import torch

SOURCES = ["drums", "bass", "other", "vocals"]


def build(name: str, wiener: int, device: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if name == "umxl":
        import openunmix

        return openunmix.umxl(pretrained=False, niter=wiener, device=device).eval()
    from demucs.htdemucs import HTDemucs

    model = HTDemucs(SOURCES, dconv_mode=3, t_dropout=0.02, bottom_channels=512, segment=Fraction(39, 5))
    return model.to(device).eval()


@torch.inference_mode()
def separate(name: str, model: torch.nn.Module, wave: torch.Tensor) -> torch.Tensor:
    """(channels, n) -> (4, channels, n)."""
    if name == "umxl":
        return model(wave[None])[0]
    from demucs.apply import apply_model
    from demucs.htdemucs import HTDemucs

    assert isinstance(model, HTDemucs), "build() makes the htdemucs peer"
    ref = wave.mean(0)
    mean, std = ref.mean(), ref.std()
    out = apply_model(model, ((wave - mean) / std)[None], shifts=1, split=True, overlap=0.25, progress=False)
    return out[0] * std + mean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=["umxl", "htdemucs"])
    parser.add_argument("input", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--wiener", type=int, default=1, help="umxl's EM iterations")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    model = build(args.name, args.wiener, args.device)
    started = time.perf_counter()
    audio, rate = sf.read(args.input, dtype="float32", always_2d=True)
    stems = separate(args.name, model, torch.from_numpy(audio.T.copy()).to(args.device)).cpu().numpy()
    args.out.mkdir(parents=True, exist_ok=True)
    for source, stem in zip(SOURCES, stems):
        sf.write(args.out / f"{source}.wav", stem.T, rate, subtype="PCM_16")
    seconds = time.perf_counter() - started
    parameters = sum(p.numel() for p in model.parameters())
    print(json.dumps({"model": args.name, "parameters": parameters, "tracks": [{"seconds": round(seconds, 3)}]}))


if __name__ == "__main__":
    main()
