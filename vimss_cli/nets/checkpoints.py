"""Checkpoints as Hub-style folders (`config.json`, `model.safetensors`, `README.md`)
and the three places a model comes from: a local folder, a Hugging Face repo
(`org/name[@revision]`, through huggingface_hub and its cache) or the models bundled
with the package. Weights are only ever read from safetensors, never unpickled.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from ..errors import VimssError, one_line
from .config import LIBRARY, ModelConfig
from .family import Model, SeparationModel, build_model
from .recognizer import InstrumentRecognizer
from .splitter import PlayerSplitter

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "README.md"
DEFAULT_MODEL = "vimss-labels"
"""Name of the bundled model `vimss separate` uses when no --model is given."""
DEFAULT_RECOGNIZER = "vimss-recognizer"
"""The bundled instrument recogniser: what `vimss identify` hears with, and `--recognizer` names."""
DEFAULT_SPLITTER = "vimss-splitter"
"""The bundled player splitter: what parts two players of one instrument (`-i vn,vn,va,vc`)."""

M = TypeVar("M", bound=Model)

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?$")


@dataclass
class LoadedModel:
    name: str
    """Short name, used for the output folder."""
    source: str
    """Where it came from: the folder, `bundled`, or `hub:org/name@revision`."""
    model: SeparationModel


@dataclass
class LoadedRecognizer:
    name: str
    source: str
    model: InstrumentRecognizer


@dataclass
class LoadedSplitter:
    name: str
    source: str
    model: PlayerSplitter


def bundled_dir() -> Path:
    """Folder of the models shipped in the package (the repository's `models/`)."""
    return Path(str(resources.files("vimss_cli.models")))


def bundled_models() -> list[str]:
    root = bundled_dir()
    return sorted(p.name for p in root.iterdir() if (p / CONFIG_FILE).is_file())


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    """Write `files` as `folder` atomically: a temporary sibling renamed into place, so a
    reader never sees half a checkpoint; world-readable, since checkpoints are shared."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        tmp.chmod(0o755)  # mkdtemp creates owner-only folders
        for path in tmp.iterdir():
            path.chmod(0o644)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def half_state(model: torch.nn.Module, half: bool) -> dict[str, torch.Tensor]:
    """The model's tensors for a safetensors file, floating point ones in fp16 if `half`."""
    return {
        k: (v.half() if half and v.is_floating_point() else v).detach().cpu().contiguous()
        for k, v in model.state_dict().items()
    }


def save_pretrained(
    model: Model, folder: Path, *, card: str = "", half: bool = False, extra: dict[str, bytes] | None = None
) -> Path:
    """Write a checkpoint folder (config, safetensors weights, model card) atomically;
    `extra` files (e.g. a training state) land in the same folder in the same rename."""
    return write_folder(
        folder,
        {
            CONFIG_FILE: model.config.to_json().encode(),
            WEIGHTS_FILE: save(half_state(model, half), metadata={"library": LIBRARY}),
            CARD_FILE: (card or model_card(Path(folder).name, model.config)).encode(),
            **(extra or {}),
        },
    )


def model_card(name: str, config: ModelConfig, details: str = "") -> str:
    """A minimal Hub model card; training scripts pass `details` (data, metrics)."""
    if config.architecture == "recognizer":
        return (
            f"---\nlibrary_name: {LIBRARY}\ntags:\n- audio-classification\n---\n\n# {name}\n\n"
            f"An instrument recogniser ({config.input_scaling} input, {config.depth} encoder blocks) telling "
            f"which of {len(config.instruments)} classes play: {', '.join(config.instruments)}.\n\n{details}\n"
        )
    if config.architecture == "player-splitter":
        return (
            f"---\nlibrary_name: {LIBRARY}\ntags:\n- audio-source-separation\n---\n\n# {name}\n\n"
            f"A player splitter ({config.input_scaling} input, {config.depth} blocks) parting the stem of one "
            f"class into its upper and lower player, for {', '.join(config.instruments)}.\n\n{details}\n"
        )
    if config.architecture == "wave-unet":
        front = f"{config.levels} levels, {config.input_samples} samples in at {config.sample_rate} Hz"
    else:
        front = f"{config.mask} masks, {config.input_scaling} input, {config.frequency_scale} frequency axis"
    return (
        f"---\nlibrary_name: {LIBRARY}\ntags:\n- audio-source-separation\n---\n\n# {name}\n\n"
        f"A {config.architecture} ({config.conditioning} conditioning on {config.context}, {front}) "
        f"separating {len(config.instruments)} instrument classes: {', '.join(config.instruments)}.\n\n"
        f"{details}\n"
    )


def load_weights(folder: Path) -> Model:
    """Build the model a checkpoint folder describes (any architecture) and load its weights."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VimssError(f"model folder not found: {folder}")
    for needed in (CONFIG_FILE, WEIGHTS_FILE):
        if not (folder / needed).is_file():
            raise VimssError(f"broken model folder {folder}: {needed} is missing")
    config = ModelConfig.load(folder / CONFIG_FILE)
    model = build_model(config)
    try:
        state = load_file(str(folder / WEIGHTS_FILE))
    except (SafetensorError, OSError, ValueError) as err:
        raise VimssError(f"broken model folder {folder}: {WEIGHTS_FILE} is not readable ({err})") from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    if missing or unexpected or wrong:
        parts = [
            f"{len(keys)} {what} (e.g. {keys[0]})"
            for keys, what in ((missing, "missing"), (unexpected, "unexpected"), (wrong, "with the wrong shape"))
            if keys
        ]
        raise VimssError(f"broken model folder {folder}: the weights do not fit config.json: {', '.join(parts)}")
    model.load_state_dict(state)
    return model.eval()


def load_folder(folder: Path, name: str | None = None, source: str | None = None) -> LoadedModel:
    """The separation model of a checkpoint folder (a recogniser or a splitter is refused: they
    separate no mixture)."""
    model = load_weights(folder)
    if isinstance(model, InstrumentRecognizer | PlayerSplitter):
        what, option = _HELPERS[type(model)]
        raise VimssError(f"{name or folder} is {what}, not a separation model: give it as {option}")
    return LoadedModel(name or folder_model_name(folder), source or str(folder), model)


GENERIC_CHECKPOINTS = ("best", "latest", "averaged")
"""Checkpoint folder names a run gives every model: its name then comes from the run's folder too."""


def folder_model_name(folder: Path) -> str:
    """A local model's name for output folders: `run1/best` is `run1-best`, so two runs'
    `best` checkpoints do not write the same stems."""
    folder = Path(folder).resolve()
    generic = folder.name in GENERIC_CHECKPOINTS or folder.name.startswith("step")
    return f"{folder.parent.name}-{folder.name}" if generic and folder.parent.name else folder.name


def looks_like_path(spec: str) -> bool:
    """A --model value meant as a folder rather than a Hub id `org/name`: it starts with
    . / ~, has more than one slash, ends with one, or its first part is a local folder."""
    base = spec.split("@")[0]
    return (
        base.startswith((".", "/", "~"))
        or base.count("/") != 1
        or base.endswith("/")
        or Path(base.split("/")[0]).expanduser().is_dir()
    )


def average_models(folders: list[Path]) -> SeparationModel:
    """The element-wise mean of checkpoints of one config (weight averaging, as in SWA):
    checkpoints along one run's late trajectory average into a better model than each."""
    return mean_model([load_folder(Path(f)).model for f in folders])


def mean_model(models: list[M]) -> M:
    """A new model holding the element-wise mean of `models`' weights (one config), which
    are left as they are: loaded once, they can be averaged in many combinations."""
    if not models:
        raise VimssError("nothing to average")
    if any(m.config != models[0].config for m in models[1:]):
        raise VimssError("cannot average checkpoints of different model configs")
    states = [m.state_dict() for m in models]
    mean = {
        k: torch.stack([s[k].float() for s in states]).mean(0).to(v.dtype) if v.is_floating_point() else v
        for k, v in states[0].items()
    }
    model = copy.deepcopy(models[0])
    model.load_state_dict(mean)
    model.eval()
    return model


def hub_folder(spec: str) -> tuple[Path, str, str]:
    """Download (or find in the cache) `org/name[@revision]`: its folder, name and source.

    huggingface_hub honours HF_HUB_OFFLINE and HF_HOME/HF_HUB_CACHE itself.
    """
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    repo_id, _, tag = spec.partition("@")
    revision = tag or None
    try:
        paths = _hub_files(spec, repo_id, revision)
    except LocalEntryNotFoundError:
        if constants.HF_HUB_OFFLINE:
            raise VimssError(f"model {spec} is not in the Hugging Face cache and HF_HUB_OFFLINE is set") from None
        raise VimssError(f"cannot reach the Hugging Face Hub for {spec}, and it is not in the local cache") from None
    except RepositoryNotFoundError:
        raise VimssError(f"no such model on the Hugging Face Hub: {repo_id}") from None
    except RevisionNotFoundError:
        raise VimssError(f"model {repo_id} has no revision '{revision}'") from None
    except EntryNotFoundError as err:
        raise VimssError(f"model {spec} is not a {LIBRARY} checkpoint: {one_line(err)}") from None
    except HfHubHTTPError as err:
        raise VimssError(f"cannot download {spec}: {one_line(err)}") from None
    return paths[0].parent, repo_id.split("/")[1], f"hub:{spec}"


HUB_SECONDS = 30.0
"""The longest `--model org/name` waits for the Hub ($VIMSS_HUB_TIMEOUT): unreachable, it retried for 26-107 s."""


def _hub_files(spec: str, repo_id: str, revision: str | None) -> list[Path]:
    """The checkpoint's files through huggingface_hub, in at most HUB_SECONDS: what is
    waited for is said first, and a Hub that does not answer in time falls back to the
    cached copy (with a note) or is a one-line error."""
    import sys
    import threading

    from huggingface_hub import constants, hf_hub_download

    def fetch(local_only: bool) -> list[Path]:
        return [
            Path(hf_hub_download(repo_id, f, revision=revision, local_files_only=local_only))
            for f in (CONFIG_FILE, WEIGHTS_FILE)
        ]

    if constants.HF_HUB_OFFLINE:
        return fetch(True)
    try:
        cached: list[Path] | None = fetch(True)
    except Exception:  # not (all) in the cache
        cached = None
    limit = float(os.environ.get("VIMSS_HUB_TIMEOUT", HUB_SECONDS))
    unresolved = _unresolved(constants.ENDPOINT)
    if unresolved is not None:  # no DNS (no network): nothing to wait for
        if cached is not None:
            print(f"note: {unresolved}; using the cached {spec}", file=sys.stderr)
            return cached
        raise VimssError(
            f"{unresolved}, and {spec} is not in the Hugging Face cache (offline? HF_HUB_OFFLINE=1 uses the cache only)"
        )
    if cached is None:
        print(f"note: fetching {spec} from the Hugging Face Hub (waiting at most {limit:g} s)", file=sys.stderr)
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(fetch(False))
        except BaseException as err:  # re-raised in the caller's thread
            outcome.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit)
    if not outcome:
        if cached is not None:
            print(
                f"note: the Hugging Face Hub did not answer within {limit:g} s; using the cached {spec}",
                file=sys.stderr,
            )
            return cached
        raise VimssError(
            f"the Hugging Face Hub did not answer within {limit:g} s for {spec} and it is not in the cache "
            "(offline? HF_HUB_OFFLINE=1 uses the cache only; VIMSS_HUB_TIMEOUT sets the wait)"
        )
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return list(outcome[0])


DNS_SECONDS = 3.0


def _unresolved(endpoint: str) -> str | None:
    """Why the Hub's host name does not resolve (no network, no DNS), or None when it does; a
    resolver that hangs counts as resolving after DNS_SECONDS, and the download's own wait decides."""
    import socket
    import threading
    from urllib.parse import urlparse

    host = urlparse(endpoint).hostname or endpoint
    failure: list[str] = []

    def resolve() -> None:
        try:
            socket.getaddrinfo(host, 443)
        except OSError as err:
            failure.append(f"cannot resolve {host} ({one_line(err)})")

    thread = threading.Thread(target=resolve, daemon=True)
    thread.start()
    thread.join(DNS_SECONDS)
    return failure[0] if failure else None


def load_model(spec: str | None = None) -> LoadedModel:
    """Resolve `--model`: a local folder, a bundled model's name, or a Hub repo id. Without
    one, the bundled default, for videos too: it separates better than the visual model
    on the held-out videos and twice as fast (the README's video section)."""
    if spec is None:
        if DEFAULT_MODEL not in bundled_models():
            raise VimssError("no bundled model ships with this version yet; pass --model FOLDER or --model ORG/NAME")
        spec = DEFAULT_MODEL
    return load_folder(*locate(spec))


_HELPERS: dict[type, tuple[str, str]] = {
    InstrumentRecognizer: ("an instrument recogniser", "--recognizer"),
    PlayerSplitter: ("a player splitter", "--splitter"),
}
"""The models that help a separation model, with what they are called and the option that takes them."""


def _load_helper(spec: str | None, default: str, kind: type[M]) -> tuple[str, str, M]:
    """Resolve a helper model's option as `load_model` resolves `--model`; without one, the bundled `default`."""
    what, option = _HELPERS[kind]
    if spec is None:
        if default not in bundled_models():
            raise VimssError(f"no {what.split(' ', 1)[1]} ships with this version; pass {option} FOLDER or ORG/NAME")
        spec = default
    folder, name, source = locate(spec)
    model = load_weights(folder)
    if not isinstance(model, kind):
        actual, give = _HELPERS.get(type(model), ("a separation model", "--model"))
        raise VimssError(f"{spec} is {actual}, not {what}: give it as {give}")
    return name or folder_model_name(folder), source or str(folder), model


def load_recognizer(spec: str | None = None) -> LoadedRecognizer:
    """Resolve `--recognizer` as `load_model` resolves `--model`; without one, the bundled recogniser."""
    return LoadedRecognizer(*_load_helper(spec, DEFAULT_RECOGNIZER, InstrumentRecognizer))


def load_splitter(spec: str | None = None) -> LoadedSplitter:
    """Resolve `--splitter` as `load_model` resolves `--model`; without one, the bundled player splitter."""
    return LoadedSplitter(*_load_helper(spec, DEFAULT_SPLITTER, PlayerSplitter))


def locate(spec: str) -> tuple[Path, str | None, str | None]:
    """A model's folder (for a Hub id, after download), and its name and source when the folder
    does not tell them."""
    path = Path(spec).expanduser()
    if path.is_dir():
        return path, None, None
    if spec in bundled_models():
        return bundled_dir() / spec, None, "bundled"
    if "/" in spec and looks_like_path(spec):
        raise VimssError(f"model folder not found: {spec} (a Hub id is org/name[@revision])")
    if _REPO_ID.match(spec) and not path.exists():
        return hub_folder(spec)
    bundled = ", ".join(bundled_models()) or "none"
    raise VimssError(f"unknown model '{spec}': not a folder, a bundled model ({bundled}) or a Hub repo id org/name")


@dataclass
class ModelEntry:
    name: str
    source: str
    path: str
    architecture: str
    conditioning: str


def list_models() -> list[ModelEntry]:
    """Bundled models and the vimss models found in the Hugging Face cache."""
    entries = []
    for name in bundled_models():
        config = ModelConfig.load(bundled_dir() / name / CONFIG_FILE)
        entries.append(ModelEntry(name, "bundled", str(bundled_dir() / name), config.architecture, config.conditioning))
    try:
        from huggingface_hub import scan_cache_dir

        repos = scan_cache_dir().repos
    except Exception:  # an absent or unreadable cache simply lists nothing
        repos = frozenset()
    for repo in sorted(repos, key=lambda r: r.repo_id):
        if repo.repo_type != "model":
            continue
        for rev in repo.revisions:
            config_path = rev.snapshot_path / CONFIG_FILE
            try:
                data = json.loads(config_path.read_text())
                config = ModelConfig.from_dict(data)
            except (OSError, ValueError, VimssError):
                continue
            refs = ",".join(sorted(rev.refs)) or rev.commit_hash[:8]
            entries.append(
                ModelEntry(
                    f"{repo.repo_id}@{refs}",
                    "hub cache",
                    str(rev.snapshot_path),
                    config.architecture,
                    config.conditioning,
                )
            )
    return entries
