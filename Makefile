# Two set-up commands on a fresh machine (python3 and make present):
#   make run    install, then run the default scenario end to end
#   make test   install, then lint and run the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
AGENTS ?= 100000
SEED ?= 1

.PHONY: run test bench install clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(VENV)/bin/corridor run albania-uk --agents $(AGENTS) --seed $(SEED) --out runs/albania-uk

test: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) benchmarks/speed.py --quick

clean:
	rm -rf $(VENV) runs
