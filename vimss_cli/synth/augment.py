"""How each player of a synthetic item is recorded: a room and microphone, EQ, compression, a noise floor.

Sample sets are dry and clean, and real stems are not: each player of a real recording
has their own position in a room, a microphone with its colour, maybe some gain riding,
and a noise floor (low-frequency rumble and mains hum, hiss). These steps are applied to
each stem before the mix is summed, so the mix stays exactly the sum of the stems.

Libraries: pyroomacoustics computes image-method room impulse responses (a well-kept
implementation of Allen & Berkley's method with Sabine-based absorption), and pedalboard
(Spotify's JUCE wrapper) does the filters and the compressor: compiled, deterministic and
fast on whole numpy arrays, where audiomentations' equivalents are slower pure Python
over the same filters.
"""

from __future__ import annotations

import math
import random

import numpy as np

STEPS = ("calibration", "mixed-sets", "room", "eq", "compression", "noise")
"""The named recording steps. calibration: each sample set's programs brought to one loudness
before the drawn gains; mixed-sets: each player of an item draws its own sample set."""
MAX_IMAGE_ORDER = 60
"""Image-source order cap: long rooms cost 0.5 s per response uncapped, little is heard past it."""


def draw_recording(rng: random.Random, sample_rate: int) -> dict:
    """Every draw of one player's recording chain (all steps, whichever are on)."""
    nyquist = sample_rate / 2
    size = [rng.uniform(5.0, 20.0), rng.uniform(4.0, 15.0), rng.uniform(3.0, 8.0)]
    source = [rng.uniform(0.5, d - 0.5) for d in size]
    distance, azimuth, elevation = rng.uniform(0.4, 3.0), rng.uniform(0, 2 * math.pi), rng.uniform(-0.3, 0.6)
    direction = [math.cos(azimuth) * math.cos(elevation), math.sin(azimuth) * math.cos(elevation), math.sin(elevation)]
    mic = [min(max(s + distance * d, 0.3), edge - 0.3) for s, d, edge in zip(source, direction, size)]
    volume = size[0] * size[1] * size[2]
    surface = 2 * (size[0] * size[1] + size[0] * size[2] + size[1] * size[2])
    shortest = 1.2 * 0.161 * volume / surface  # Sabine's decay with walls that absorb nearly everything
    return {
        "room": {
            "size": _r(size),
            "rt60": round(max(rng.uniform(0.2, 0.9), shortest), 3),
            "source": _r(source),
            "mic": _r(mic),
        },
        "eq": {
            "low_shelf": {"hz": round(rng.uniform(80, 400), 1), "db": round(rng.uniform(-6, 6), 2)},
            "high_shelf": {
                "hz": round(rng.uniform(1500, min(5000, 0.8 * nyquist)), 1),
                "db": round(rng.uniform(-8, 4), 2),
            },
            "peaks": [
                {
                    "hz": round(math.exp(rng.uniform(math.log(150), math.log(0.8 * nyquist))), 1),
                    "db": round(rng.uniform(-6, 6), 2),
                    "q": round(rng.uniform(0.5, 3.0), 2),
                }
                for _ in range(2)
            ],
        },
        "compression": {
            "threshold_below_peak_db": round(rng.uniform(-30, -10), 2),
            "ratio": round(rng.uniform(1.5, 4), 2),
            "attack_ms": round(rng.uniform(2, 30), 1),
            "release_ms": round(rng.uniform(50, 300), 1),
        },
        "noise": {
            "seed": rng.getrandbits(32),
            "rumble_db": round(rng.uniform(-65, -35), 2),
            "rumble_hz": round(rng.uniform(30, 120), 1),
            "hum_db": round(rng.uniform(-65, -40), 2) if rng.random() < 0.4 else None,
            "hum_hz": rng.choice((50, 60)),
            "hum_harmonics": [round(rng.uniform(0.1, 1.0), 3) for _ in range(4)],
            "hiss_db": round(rng.uniform(-65, -40), 2),
        },
    }


def _r(values: list[float]) -> list[float]:
    return [round(v, 3) for v in values]


def record(stem: np.ndarray, draws: dict, sample_rate: int, steps: tuple[str, ...]) -> np.ndarray:
    """`stem` (frames,) float32 as recorded with the chain's enabled steps, same length."""
    out = stem.astype(np.float32)
    if float(np.abs(out).max(initial=0.0)) < 1e-6:  # a silent part stays silent (no noise floor of its own)
        return out
    if "room" in steps:
        out = in_room(out, draws["room"], sample_rate)
    from pedalboard import Compressor, HighShelfFilter, LowShelfFilter, PeakFilter, Pedalboard, Plugin

    board: list[Plugin] = []
    if "eq" in steps:
        eq = draws["eq"]
        board += [
            LowShelfFilter(eq["low_shelf"]["hz"], eq["low_shelf"]["db"]),
            HighShelfFilter(eq["high_shelf"]["hz"], eq["high_shelf"]["db"]),
            *(PeakFilter(p["hz"], p["db"], p["q"]) for p in eq["peaks"]),
        ]
    if "compression" in steps:
        comp = draws["compression"]
        peak_db = 20 * math.log10(max(float(np.abs(out).max()), 1e-9))
        board.append(
            Compressor(peak_db + comp["threshold_below_peak_db"], comp["ratio"], comp["attack_ms"], comp["release_ms"])
        )
    if board:
        out = Pedalboard(board)(out[None], sample_rate)[0]
    if "noise" in steps:
        out = out + noise_floor(len(out), float(np.abs(out).max()), draws["noise"], sample_rate)
    return out.astype(np.float32)


def in_room(stem: np.ndarray, room: dict, sample_rate: int) -> np.ndarray:
    """The stem as heard at the microphone: convolved with the room's image-method response,
    the direct path kept at the stem's own time and level."""
    import pyroomacoustics as pra
    from scipy.signal import oaconvolve

    absorption, order = pra.inverse_sabine(room["rt60"], room["size"])
    shoebox = pra.ShoeBox(
        room["size"], fs=sample_rate, materials=pra.Material(absorption), max_order=min(order, MAX_IMAGE_ORDER)
    )
    shoebox.add_source(room["source"])
    shoebox.add_microphone(room["mic"])
    shoebox.compute_rir()
    response = np.asarray(shoebox.rir[0][0], np.float64)
    direct = int(np.argmax(np.abs(response)))
    response = response[direct:] / response[direct]
    return oaconvolve(stem, response)[: len(stem)].astype(np.float32)


def noise_floor(frames: int, peak: float, noise: dict, sample_rate: int) -> np.ndarray:
    """Rumble (low-passed noise), mains hum with harmonics, and hiss, each at its level
    in dB below the stem's peak."""
    from pedalboard import LowpassFilter, Pedalboard

    gen = np.random.default_rng(noise["seed"])
    scale = max(peak, 1e-6)

    def at_level(signal: np.ndarray, db: float) -> np.ndarray:
        rms = float(np.sqrt(np.mean(signal**2))) or 1.0
        return signal * (scale * 10 ** (db / 20) / rms)

    rumble = gen.standard_normal(frames).astype(np.float32)
    rumble = Pedalboard([LowpassFilter(noise["rumble_hz"]), LowpassFilter(noise["rumble_hz"])])(
        rumble[None], sample_rate
    )[0]
    out = at_level(rumble, noise["rumble_db"]) + at_level(gen.standard_normal(frames), noise["hiss_db"])
    if noise["hum_db"] is not None:
        t = np.arange(frames) / sample_rate
        hum = sum(
            a * np.sin(2 * np.pi * noise["hum_hz"] * (h + 1) * t + h)
            for h, a in enumerate(noise["hum_harmonics"])
            if noise["hum_hz"] * (h + 1) < sample_rate / 2
        )
        out = out + at_level(np.asarray(hum), noise["hum_db"])
    return out.astype(np.float32)
