# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test bench clean

# FluidSynth and Csound (for `vimss synth`) and three more GM sample sets come from the OS; as root on
# Debian/Ubuntu they are installed here, elsewhere install libfluidsynth yourself.
SYSTEM_PACKAGES := libfluidsynth3 fluid-soundfont-gm musescore-general-soundfont csound-soundfont csound

$(STAMP): pyproject.toml constraints.txt
	if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && ! dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; fi
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Separates the examples with the bundled models (no network needed): the duet with
# vimss-labels, and the quartet video with vimss-visual (the players found by the bundled
# detector, drawn to separated/quartet-players.png, through ResNet-50); pass
# MODEL=folder-or-org/name to use a checkpoint of your own for both.
demo: $(STAMP)
	$(VENV)/bin/vimss models
	$(VENV)/bin/vimss separate examples/duet.flac --instruments vn,vc --out separated $(if $(MODEL),--model $(MODEL))
	$(VENV)/bin/vimss separate examples/quartet.mp4 --instruments vn,va,vc --out separated --save-boxes separated/quartet-players.png --model $(or $(MODEL),vimss-visual)

# Style (ruff: lint and format), types (mypy), then the tests; ruff and mypy read pyproject.toml.
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q

# Regenerates benchmarks/RESULTS.md (speed beside Open-Unmix and Demucs, memory, quality;
# about 16 minutes on 2 CPU cores). The peers come from PyPI: the `bench` extra.
bench: $(STAMP)
	$(PY) -m pip install -q -c constraints.txt -e '.[test,bench]'
	$(PY) benchmarks/results.py

clean:
	rm -rf separated .pytest_cache
