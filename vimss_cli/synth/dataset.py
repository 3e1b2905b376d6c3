"""`vimss synth`: render multi-part scores into a data set, one stem per part.

Each item is an excerpt of one score (`arrange.py`), rendered part by part (`item.py`) so
that stems are sample-aligned and nothing bleeds, and the written mix is exactly the sum
of the written stems. Items are committed in index order, so the output depends only on
the seed and the settings, never on the number of workers, and a rerun skips what is
already complete.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import soundfile as sf

from .. import atomic
from ..errors import VimssError
from .item import RenderedItem, render_item
from .notation import PARSE_SECONDS, score_name, split_of
from .settings import SynthSettings

STATE_DIR = ".vimss-synth"


def _commit(out: Path, item: RenderedItem, layout: str, sample_rate: int) -> None:
    """Write an item's files under temporary names, rename them into place, then its record
    (which marks the item complete; a skipped item has only the record)."""
    if item.files:
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
        try:
            for rel, content in item.files.items():
                target = staging / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                if isinstance(content, bytes):
                    target.write_bytes(content)
                else:
                    fmt = "FLAC" if rel.endswith(".flac") else "WAV"
                    sf.write(target, content, sample_rate, subtype="PCM_16", format=fmt)
            if layout == "urmp":
                folder = item.record["folder"]
                shutil.rmtree(out / folder, ignore_errors=True)
                os.replace(staging / folder, out / folder)
            else:
                for rel in item.files:
                    (out / rel).parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staging / rel, out / rel)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    _write_json(_record_path(out, item.index), item.record)


def _record_path(out: Path, index: int) -> Path:
    return out / STATE_DIR / "items" / f"{index:06d}.json"


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, json.dumps(data, indent=1) + "\n")


@dataclass
class SynthSummary:
    items: int
    seconds: float
    rendered: int
    """Items rendered by this run (the rest were already complete)."""
    skipped: list[str]
    manifest: Path


def synthesize(
    out: Path,
    scores: list[Path],
    settings: SynthSettings,
    *,
    pieces: int | None = None,
    hours: float | None = None,
    workers: int = 1,
    parse_limit: float = PARSE_SECONDS,
    on_progress: Callable[[float], None] | None = None,
    on_skip: Callable[[str], None] | None = None,
) -> SynthSummary:
    """Render items until `pieces` items or `hours` of audio exist in `out`.

    Hours count the mixes (urmp) or the recordings (solos). `on_progress` gets the
    fraction done after each item, `on_skip` a line for each score given up as it happens
    (unreadable, too few parts, or slower to read than `parse_limit` seconds).
    """
    if (pieces is None) == (hours is None):
        raise VimssError("give one of --pieces or --hours")
    if (pieces is not None and pieces < 1) or (hours is not None and hours <= 0):
        raise VimssError("--pieces and --hours must be positive")
    if settings.split != "all":
        scores = [s for s in scores if split_of(s) == settings.split]
    if not scores:
        raise VimssError(f"no score belongs to the '{settings.split}' split; pass --split all")
    order = score_order(scores, settings.seed)
    _prepare(out, settings)
    target = pieces if pieces is not None else hours * 3600.0  # type: ignore[operator]
    seconds = 0.0
    rendered = failures_in_a_row = 0
    skipped: list[str] = []
    records = []
    for item in _items(out, order, settings, workers, parse_limit):
        if not item.reused:
            _commit(out, item, settings.layout, settings.sample_rate)
            rendered += "skipped" not in item.record
        if "skipped" in item.record:
            skipped.append(f"{item.record['score']}: {item.record['skipped']}")
            if on_skip and not item.reused:
                on_skip(skipped[-1])
            failures_in_a_row += 1
            if failures_in_a_row >= len(order):
                raise VimssError(f"no usable score: {skipped[-1]}")
        else:
            records.append(item.record)
            seconds += _audio_seconds(item.record)
            failures_in_a_row = 0
        done = len(records) if pieces is not None else seconds
        if on_progress:
            on_progress(min(1.0, done / target))
        if done >= target:
            break
    manifest = out / "manifest.json"
    _write_json(manifest, {"settings": asdict(settings), "items": records})
    return SynthSummary(len(records), seconds, rendered, skipped, manifest)


def score_order(scores: list[Path], seed: int) -> list[Path]:
    """Scores shuffled within each top folder (composer) and taken from the folders in
    turn, so the corpus' 1,318 Palestrina mass sections do not crowd out the quartets."""
    rng = random.Random(seed)
    root = Path(os.path.commonpath([s.parent for s in scores]))
    groups: dict[str, list[Path]] = {}
    for path in sorted(scores, key=score_name):
        top = path.relative_to(root).parts
        groups.setdefault(top[0] if len(top) > 1 else "", []).append(path)
    queues = [rng.sample(group, len(group)) for _, group in sorted(groups.items())]
    order = []
    while any(queues):
        for queue in rng.sample(queues, len(queues)):
            if queue:
                order.append(queue.pop())
    return order


def _audio_seconds(record: dict) -> float:
    audio = [f for f in record["files"] if f.endswith((".wav", ".flac")) and "/AuSep_" not in f]
    return record["seconds"] * len(audio)


def _prepare(out: Path, settings: SynthSettings) -> None:
    """Create `out`, or check that an existing run used the same settings."""
    try:
        (out / STATE_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise VimssError(f"cannot create output folder {out}: {err.strerror}") from None
    saved = out / STATE_DIR / "settings.json"
    current = {
        **asdict(settings),
        "soundfonts": [Path(s).name for s in settings.soundfonts],
        "realism": list(settings.realism),
    }
    if saved.is_file():
        previous = {"video": False, "realism": [], "doubled": 0.0, **json.loads(saved.read_text())}  # made before them
        if previous != current:
            changed = sorted(k for k in current if previous.get(k) != current[k])
            raise VimssError(f"{out} was made with other settings ({', '.join(changed)}); use a new folder")
    else:
        _write_json(saved, current)
    if not os.access(out, os.W_OK):
        raise VimssError(f"output folder is not writable: {out}")


def _items(
    out: Path, order: list[Path], settings: SynthSettings, workers: int, parse_limit: float
) -> Iterator[RenderedItem]:
    """Items in index order: complete ones from their records, the rest rendered
    (in `workers` processes, a few ahead of the one being committed)."""

    def existing(index: int) -> RenderedItem | None:
        path = _record_path(out, index)
        if not path.is_file():
            return None
        record = json.loads(path.read_text())
        if not all((out / f).is_file() for f in record.get("files", [])):
            return None
        return RenderedItem(index, record, {}, reused=True)

    def score(index: int) -> Path:
        return order[index % len(order)]

    if workers <= 1:
        index = 0
        while True:
            yield existing(index) or render_item(index, score(index), settings, parse_limit)
            index += 1
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        pending: dict[int, Future | RenderedItem] = {}
        next_index = 0
        index = 0
        try:
            while True:
                while len(pending) < 2 * workers:
                    found = existing(next_index)
                    pending[next_index] = found or pool.submit(
                        render_item, next_index, score(next_index), settings, parse_limit
                    )
                    next_index += 1
                job = pending.pop(index)
                yield job if isinstance(job, RenderedItem) else job.result()
                index += 1
        finally:
            for job in pending.values():
                if isinstance(job, Future):
                    job.cancel()
