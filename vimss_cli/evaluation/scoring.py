"""`vimss evaluate`: score models and the reference rows on URMP-layout pieces.

Everything is scored at 11025 Hz mono, on whole pieces or on the paper's ~6-second
segments. Reference rows need no model: the ideal ratio and ideal binary mask oracles
(upper bounds, computed with the model's own STFT) and the input mix itself (lower
bound). A model is conditioned on the ground-truth instruments of each piece.
"""

from __future__ import annotations

import csv
import functools
import itertools
import json
import math
import multiprocessing
import statistics
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..constants import SAMPLE_RATE
from ..dsp.audio import load_audio, to_model_input
from ..dsp.metrics import score_sources, si_sdr
from ..dsp.spectral import istft, stft
from ..errors import VimssError
from ..instruments import PLAYERS_PER_CLASS
from ..nets.separable import WaveformModel, separable
from ..separator import Separator
from ..video.features import VideoFeatures
from ..video.players import PlayerTrack
from .urmp import Piece

METRICS = ("si_sdr", "sd_sdr", "pes", "eps", "sdr", "sir", "sar")
ORACLES = ("irm", "ibm", "mix")


@dataclass
class PieceAudio:
    name: str
    instruments: list[str]
    mix: torch.Tensor
    """(samples,) at 11025 Hz."""
    references: torch.Tensor
    """(sources, samples) at 11025 Hz, one per instrument (players of one instrument summed)."""
    video: Path | None = None
    players: int = 0
    """Players in the video (more than sources when players of one instrument are summed)."""
    player_names: list[str] = field(default_factory=list)
    """The players of instruments that two play, named as `vimss separate` names their stems (vn1, vn2)."""
    player_references: torch.Tensor = field(default_factory=lambda: torch.zeros(0))
    """(players, samples): each of them, in file order (URMP numbers the upper part, violin I, first)."""

    @property
    def rows(self) -> list[str]:
        """What each estimate's rows are: the instruments (players summed), then the players."""
        return self.instruments + self.player_names


def _mono_11k(path: Path) -> torch.Tensor:
    wave, sr = load_audio(path)
    return to_model_input(torch.from_numpy(wave), sr, SAMPLE_RATE)


LENGTH_TOLERANCE = 0.1
"""Seconds a stem may differ in length from its mix (encoder padding) before the piece is refused."""
SUM_SI_SDR = 10.0
"""dB (SI-SDR) within which the stems must add up to the mix: below, they are not its parts."""


def load_piece(piece: Piece) -> PieceAudio:
    """A piece at 11025 Hz mono (each file resampled and downmixed from its own rate and
    channels), refused in one line when its stems cannot be the mix's parts: a length other
    than the mix's, or a sum that is not the mix (scores of such a piece would mean nothing)."""
    mix = _mono_11k(piece.mix)
    stems = {p: _mono_11k(p) for inst in piece.instruments for p in piece.sources[inst]}
    for path, stem in stems.items():
        if abs(len(stem) - len(mix)) > LENGTH_TOLERANCE * SAMPLE_RATE:
            raise VimssError(
                f"{path.name} lasts {len(stem) / SAMPLE_RATE:.2f} s, its mix {len(mix) / SAMPLE_RATE:.2f} s"
            )
    n = min(len(mix), *(len(s) for s in stems.values()))
    refs = [functools.reduce(torch.add, (stems[p][:n] for p in piece.sources[inst])) for inst in piece.instruments]
    references = torch.stack(refs)
    agreement = float(si_sdr(mix[:n], references.sum(0)))
    if not agreement >= SUM_SI_SDR:
        raise VimssError(
            f"its stems do not add up to its mix ({agreement:.1f} dB SI-SDR; their rates, channels or gains differ)"
        )
    doubled = [inst for inst in piece.instruments if len(piece.sources[inst]) == PLAYERS_PER_CLASS]
    names = [f"{inst}{k + 1}" for inst in doubled for k in range(PLAYERS_PER_CLASS)]
    players = [stems[p][:n] for inst in doubled for p in piece.sources[inst]]
    return PieceAudio(
        piece.name,
        piece.instruments,
        mix[:n],
        references,
        piece.video,
        piece.players,
        names,
        torch.stack(players) if players else torch.zeros(0, n),
    )


def oracle_estimates(kind: str, audio: PieceAudio) -> torch.Tensor:
    """(sources, samples) estimates of the ideal ratio/binary mask oracles or the mix."""
    n = audio.mix.shape[-1]
    if kind == "mix":  # the baseline of every row, players too
        return audio.mix.expand(len(audio.rows), n).clone()
    spec = stft(audio.mix)
    mags = stft(audio.references).abs()
    if kind == "irm":
        masks = mags / (mags.sum(0, keepdim=True) + 1e-8)
    else:
        masks = (mags == mags.amax(0, keepdim=True)).to(mags.dtype)
    return istft(masks * spec, n)


def model_estimates(
    separator: Separator, audio: PieceAudio, players: Callable[[Path, int], PlayerTrack] | None = None
) -> torch.Tensor:
    """Separate the piece's mix, conditioned on its ground-truth instruments and, for a
    visual model, on its video's players (`players` finds them: recorded boxes or detection)."""
    visual = None
    config = separator.model.config
    if config.uses_visual:
        if audio.video is None or players is None:
            raise VimssError(f"{audio.name}: a visual model needs the piece's Vid_*.mp4")
        track = players(audio.video, audio.players)
        visual = VideoFeatures(separator.model.visual, audio.video, track, separator.segment, config.visual_frames)
    doubled = [name[:-1] for name in audio.player_names[::PLAYERS_PER_CLASS]]
    parted = separator.splitter is not None and not isinstance(separable(separator.model), WaveformModel)
    line_up = audio.instruments + (doubled if parted else [])
    stems = separator.separate(audio.mix, SAMPLE_RATE, ",".join(line_up), visual=visual)
    if parted:  # each instrument's row is its players' sum
        stems.update({inst: stems[f"{inst}1"] + stems[f"{inst}2"] for inst in doubled})
    else:  # the answer of a model that parts no players: each gets (half) the instrument's stem
        stems.update({name: stems[name[:-1]] / PLAYERS_PER_CLASS for name in audio.player_names})
    return torch.stack([stems[row] for row in audio.rows])


def segment_bounds(n: int, segment: float | None) -> list[tuple[int, int]]:
    """Whole piece, or consecutive full segments of `segment` seconds (a shorter piece is one)."""
    if segment is None:
        return [(0, n)]
    size = round(segment * SAMPLE_RATE)
    bounds = [(s, s + size) for s in range(0, n - size + 1, size)]
    return bounds or [(0, n)]


def _views(audio: PieceAudio, ests: torch.Tensor) -> list[tuple[list[str], torch.Tensor, torch.Tensor, int]]:
    """What is scored together: the instruments (players summed); with player rows, also the
    players beside the instruments that one plays (an instrument and its players at once would
    be references that add up, which BSS Eval cannot tell apart). Each as (names, references,
    estimates, how many of the first names are rows)."""
    k = len(audio.instruments)
    views = [(audio.instruments, audio.references, ests[:k], k)]
    if len(ests) > k:
        doubled = {name[:-1] for name in audio.player_names}
        alone = [i for i, inst in enumerate(audio.instruments) if inst not in doubled]
        names = audio.player_names + [audio.instruments[i] for i in alone]
        refs = torch.cat([audio.player_references, audio.references[alone]])
        views.append((names, refs, torch.cat([ests[k:], ests[alone]]), len(audio.player_names)))
    return views


def _score_job(job: tuple[dict, torch.Tensor, torch.Tensor]) -> list[dict]:
    meta, refs, ests = job
    names, rows_kept = meta.pop("instruments"), meta.pop("rows")
    rows = [{**meta, "instrument": inst, **values} for inst, values in zip(names, score_sources(refs, ests))]
    rows = rows[:rows_kept]
    if meta["method"] == "mix":
        for row in rows:  # the mix holds no artifacts: its SAR (100+ dB) is numerical noise, not a score
            row["sar"] = math.nan
    return rows


def evaluate(
    pieces: list[Piece],
    estimators: dict[str, Callable[[PieceAudio], torch.Tensor]],
    *,
    segment: float | None = None,
    workers: int = 1,
    on_piece: Callable[[str], None] | None = None,
    on_skip: Callable[[str], None] | None = None,
) -> list[dict]:
    """One row per (method, piece, segment, source) with every metric (NaN where undefined).
    A piece whose files cannot be read (a truncated stem) is skipped and told to `on_skip`."""
    rows: list[dict] = []
    # spawn, not fork: a forked child of a process that ran torch's OpenMP pool can hang
    spawn = multiprocessing.get_context("spawn")
    pool = (
        ProcessPoolExecutor(workers, mp_context=spawn, initializer=torch.set_num_threads, initargs=(1,))
        if workers > 1
        else None
    )
    futures = []
    try:
        for piece in pieces:
            try:
                audio = load_piece(piece)
            except VimssError as err:
                if on_skip is None:
                    raise
                on_skip(f"{piece.name}: {err}")
                continue
            for method, estimate in estimators.items():
                ests = estimate(audio)
                bounds = enumerate(segment_bounds(audio.mix.shape[-1], segment))
                for (index, (start, end)), (names, refs, view, kept) in itertools.product(bounds, _views(audio, ests)):
                    meta = {
                        "method": method,
                        "piece": audio.name,
                        "n_sources": len(audio.instruments),
                        "segment": index,
                        "start_s": round(start / SAMPLE_RATE, 3),
                        "instruments": names,
                        "rows": kept,
                    }
                    job = (meta, refs[:, start:end], view[:, start:end])
                    if pool is None:
                        rows.extend(_score_job(job))
                    else:
                        futures.append(pool.submit(_score_job, job))
            if on_piece is not None:
                on_piece(piece.name)
        for future in futures:
            rows.extend(future.result())
    finally:
        if pool is not None:
            pool.shutdown()
    return rows


def _values(rows: list[dict], metric: str) -> list[float]:
    return [r[metric] for r in rows if not math.isnan(r[metric])]


def mean_std(values: list[float]) -> tuple[float, float, int]:
    """Mean, sample standard deviation and count. A metric can be infinite (the SAR of
    the input mix when it is exactly the sum of the references): the mean is then
    infinite and the deviation undefined (NaN), where `statistics.stdev` would raise."""
    if not values:
        return math.nan, math.nan, 0
    if len(values) == 1:
        return values[0], 0.0, 1
    std = statistics.stdev(values) if all(map(math.isfinite, values)) else math.nan
    return statistics.fmean(values), std, len(values)


def summarise(rows: list[dict], by: str | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """{method (or method/group): {metric: {mean, std, n}}}."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        key = row["method"] if by is None else f"{row['method']}/{row[by]}"
        groups.setdefault(key, []).append(row)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for key, group in groups.items():
        out[key] = {}
        for metric in METRICS:
            mean, std, n = mean_std(_values(group, metric))
            out[key][metric] = {"mean": mean, "std": std, "n": n}
    return out


def compare(rows: list[dict], a: str, b: str) -> dict[str, dict[str, float]]:
    """Paired difference b - a per metric over the sources both score, with the
    two-sided Wilcoxon signed-rank p-value."""
    from scipy.stats import wilcoxon

    def keyed(method: str) -> dict[tuple, dict]:
        return {(r["piece"], r["segment"], r["instrument"]): r for r in rows if r["method"] == method}

    ra, rb = keyed(a), keyed(b)
    result = {}
    for metric in METRICS:
        pairs = [(ra[k][metric], rb[k][metric]) for k in ra.keys() & rb.keys()]
        pairs = [(x, y) for x, y in pairs if not (math.isnan(x) or math.isnan(y))]
        diffs = [y - x for x, y in pairs]
        p = math.nan
        if len(diffs) >= 2 and any(d != 0 for d in diffs):
            p = float(wilcoxon(diffs).pvalue)
        mean, std, n = mean_std(diffs)
        result[metric] = {"mean_difference": mean, "std": std, "n": n, "p_value": p}
    return result


def write_reports(rows: list[dict], out: Path, comparisons: dict, skipped: list[str]) -> list[Path]:
    """results.csv (every value), results.json (values, summaries, comparisons) and box plots."""
    out.mkdir(parents=True, exist_ok=True)
    fields = ["method", "piece", "n_sources", "segment", "start_s", "instrument", *METRICS]
    csv_path = out / "results.csv"
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows({k: r[k] for k in fields} for r in rows)
    json_path = out / "results.json"
    report = {
        "summary": summarise(rows),
        "by_instrument": summarise(rows, "instrument"),
        "by_n_sources": summarise(rows, "n_sources"),
        "comparisons": comparisons,
        "skipped": skipped,
        "rows": rows,
    }
    json_path.write_text(json.dumps(report, indent=1, default=float).replace("NaN", "null"))
    return [csv_path, json_path, *box_plots(rows, out)]


def box_plots(rows: list[dict], out: Path) -> list[Path]:
    """Box plots like the paper's Fig. 3 and 4: each metric by method, and SI-SDR by
    instrument for every method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(dict.fromkeys(r["method"] for r in rows))
    paths = []
    fig, axes = plt.subplots(1, 4, figsize=(4 * 4, 4), squeeze=False)
    for ax, metric in zip(axes[0], ("si_sdr", "sdr", "sir", "sar")):
        data = [_values([r for r in rows if r["method"] == m], metric) or [math.nan] for m in methods]
        ax.boxplot(data, showfliers=False)
        ax.set_xticks(range(1, len(methods) + 1), methods, rotation=30, ha="right")
        ax.set_title(metric.upper().replace("_", "-") + " (dB)")
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    paths.append(out / "boxplot_metrics.png")
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)

    instruments = list(dict.fromkeys(r["instrument"] for r in rows))
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(instruments) * len(methods)), 4))
    for i, method in enumerate(methods):
        data = [
            _values([r for r in rows if r["method"] == method and r["instrument"] == inst], "si_sdr") or [math.nan]
            for inst in instruments
        ]
        positions = [k * (len(methods) + 1) + i for k in range(len(instruments))]
        box = ax.boxplot(data, positions=positions, showfliers=False, patch_artist=True)
        for patch in box["boxes"]:
            patch.set_facecolor(plt.cm.tab10(i))
        ax.plot([], [], color=plt.cm.tab10(i), label=method, linewidth=8)
    ax.set_xticks([k * (len(methods) + 1) + (len(methods) - 1) / 2 for k in range(len(instruments))], instruments)
    ax.set_ylabel("SI-SDR (dB)")
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    paths.append(out / "boxplot_instruments.png")
    fig.savefig(paths[-1], dpi=100)
    plt.close(fig)
    return paths
