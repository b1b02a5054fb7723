# speaker-audio: every target a newcomer needs. `make test` and `make demo` set themselves up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install generate check-generated pin lint format typecheck test pytest demo bench fuzz soak clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "speaker-audio needs Python 3.11+" or 0)'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

generate: install
	$(PY) scripts/generate.py

check-generated: install
	$(PY) scripts/generate.py --check

pin: install  ## make pin SPEC=path-or-url-of-full-upstream-openapi.json
	$(PY) scripts/pin_spec.py $(or $(SPEC),../shared/upstream/elevenlabs-openapi.full.json)

lint: install
	$(VENV)/bin/ruff check facade scripts tests
	$(VENV)/bin/ruff format --check facade scripts tests

format: install
	$(VENV)/bin/ruff check --fix facade scripts tests
	$(VENV)/bin/ruff format facade scripts tests

typecheck: install
	$(VENV)/bin/mypy facade/speaker_audio scripts tests

pytest: install
	$(PY) -m pytest

test: install check-generated lint typecheck pytest

demo: install
	$(PY) -m speaker_audio._demo

bench: install
	$(PY) scripts/bench.py

clean:
	rm -rf $(VENV) build dist demo-output .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
