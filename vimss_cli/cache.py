"""Where vimss keeps what it computes or downloads once: $VIMSS_CACHE, else
$XDG_CACHE_HOME/vimss, else ~/.cache/vimss (never the working folder)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    explicit = os.environ.get("VIMSS_CACHE")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vimss"
