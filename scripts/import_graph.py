"""The package's import graph by layer: which part of `vimss_cli` imports which, read from the code (ast).

    .venv/bin/python scripts/import_graph.py          # the graph; exit 1 on a cycle or an upward import

Each part is a subpackage or a top-level module, and sits in one layer of LAYERS: a part may
import parts of its own layer or below, never above (an upward import), and no two parts may
import each other through any path (a cycle). Imports inside functions count too: the package
imports lightly by deferring them, so they are where most of its edges are.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "vimss_cli"
LAYERS: tuple[tuple[str, ...], ...] = (
    ("__init__", "constants", "errors", "atomic", "cache", "instruments", "boxes"),
    ("dsp",),
    ("nets",),
    ("devices", "video"),
    ("separator", "recognition"),
    ("stems",),
    ("media", "synth", "evaluation"),
    ("training",),
    ("cli",),
    ("__main__",),
)
"""Lowest first: the core every part shares (the package's face among it: it imports none of
the package until a name is asked for, `__version__` aside), the signal processing, the networks,
where they run and the video front end, the separator and the recogniser that hears a file, its
file writing, the API for a file of any kind beside synthesis and evaluation, training, the
command line, the package's face."""


def part_of(module: str) -> str:
    """'vimss_cli.dsp.audio' -> 'dsp'; 'vimss_cli.stems' -> 'stems'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def imported(path: Path) -> set[str]:
    """Every vimss_cli module `path` imports (absolute or relative, anywhere in the file)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("vimss_cli"):
                submodules = {f"{target}.{a.name}" for a in node.names}  # `from . import x` names modules
                found |= submodules if submodules <= modules else {target}
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("vimss_cli"))
    return {m for m in found if m in modules and m != name}


def graph() -> dict[str, set[str]]:
    """Part -> the parts it imports (its own left out)."""
    edges: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "models" in path.relative_to(PACKAGE).parts:
            continue
        source = part_of(module_name(path))
        edges.setdefault(source, set()).update(part_of(m) for m in imported(path) if part_of(m) != source)
    return edges


def layer(part: str) -> int:
    for k, parts in enumerate(LAYERS):
        if part in parts:
            return k
    raise KeyError(f"{part} has no layer in scripts/import_graph.py's LAYERS")


def problems(edges: dict[str, set[str]]) -> list[str]:
    """Upward imports, and cycles among the parts."""
    found = [f"upward: {a} -> {b}" for a, targets in edges.items() for b in sorted(targets) if layer(b) > layer(a)]
    reach = {a: set(targets) for a, targets in edges.items()}
    changed = True
    while changed:  # transitive closure: a few parts, a few rounds
        changed = False
        for a in reach:
            more = set().union(*(reach.get(b, set()) for b in reach[a])) - reach[a]
            if more:
                reach[a] |= more
                changed = True
    found += [f"cycle: {a} <-> {b}" for a in sorted(reach) for b in sorted(reach[a]) if a < b and a in reach.get(b, ())]
    return found


def main() -> None:
    edges = graph()
    for k, parts in reversed(list(enumerate(LAYERS))):
        for part in parts:
            if part in edges:
                print(f"{k}  {part:<11} -> {', '.join(sorted(edges[part], key=lambda p: (-layer(p), p))) or '-'}")
    bad = problems(edges)
    for line in bad:
        print(line)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
