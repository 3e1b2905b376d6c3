"""The house's layers: no part of the package imports a part above it, and no two parts import each other."""

import importlib.util
import subprocess
import sys

from tests.helpers import ROOT

SCRIPT = ROOT / "scripts" / "import_graph.py"


def _graph_module():
    spec = importlib.util.spec_from_file_location("import_graph", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_package_has_no_upward_import_and_no_cycle():
    run = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "training" in run.stdout and "nets" in run.stdout


def test_every_subpackage_and_top_level_module_has_a_layer():
    graph = _graph_module()
    parts = {
        p.name if p.is_dir() else p.stem
        for p in (ROOT / "vimss_cli").iterdir()
        if p.suffix == ".py" or (p / "__init__.py").is_file()
    }
    for part in parts - {"models"}:
        graph.layer(part)  # raises KeyError for a part with no layer


def test_the_check_finds_an_upward_import_and_a_cycle():
    graph = _graph_module()
    assert graph.problems({"dsp": {"nets"}, "nets": {"dsp"}}) == ["upward: dsp -> nets", "cycle: dsp <-> nets"]
    assert graph.problems({"nets": {"dsp"}, "dsp": set()}) == []
