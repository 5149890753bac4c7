# Quick start: `make demo` (main job on a built-in default) and `make test`.
# Both create .venv/ at the repo root when it is missing.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo lab test bench figures clean

EXAMPLE := fsttopo/assets/example/flite-rms-s13372

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/fsttopo align $(EXAMPLE).wav $(EXAMPLE).txt --out exp/align
	$(VENV)/bin/fsttopo score --hyp exp/align/flite-rms-s13372.json --ref $(EXAMPLE).json

lab: $(STAMP)
	$(VENV)/bin/fsttopo synth --preset default --seeds 3 --out exp/synth/default

test: $(STAMP)
	$(VENV)/bin/python -m pytest

bench: $(STAMP)
	$(VENV)/bin/pip install --quiet -e ".[bench]"
	$(VENV)/bin/python benchmarks/engine.py
	$(VENV)/bin/python benchmarks/decode.py

figures: $(STAMP)
	$(VENV)/bin/python docs/figures/make_topology_figures.py

clean:
	rm -rf $(VENV) build *.egg-info
