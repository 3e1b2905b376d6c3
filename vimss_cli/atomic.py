"""Files that appear whole or not at all: written under a temporary name beside their
target, then renamed into place.

Temporary names are `.<name>.<pid>-<random>.partial`, so a run can tell its own partial
files from those a killed run left behind (its process is gone) and remove only those.
They get the permissions the user's umask gives new files (mkstemp's are owner-only).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

SUFFIX = ".partial"
_PARTIAL = re.compile(r"^\..+\.(\d+)-[^.]+\.partial$")


def file_mode() -> int:
    """What the umask leaves of rw-rw-rw-, as `open()` would create a file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def temporary_beside(path: Path) -> Path:
    """A new empty file named for `path` in its folder, with the umask's permissions."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=SUFFIX, dir=path.parent)
    os.fchmod(fd, file_mode())
    os.close(fd)
    return Path(tmp)


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `path`, on any error it is removed."""
    tmp = temporary_beside(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes) -> Path:
    with replacing(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_text(path: Path, text: str) -> Path:
    return write_bytes(path, text.encode())


def remove_stale_partials(folder: Path) -> list[Path]:
    """Remove the partial files of our naming in `folder` whose process has ended."""
    removed = []
    for candidate in folder.glob(f".*{SUFFIX}") if folder.is_dir() else []:
        match = _PARTIAL.match(candidate.name)
        if match and not _alive(int(match.group(1))):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True
