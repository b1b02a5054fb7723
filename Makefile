# speaker-audio: every target a newcomer needs. `make test` and `make demo` set themselves up; `make help` lists them.
# Each target's `##` comment is its line in `make help` (tests/tooling/test_readme_contract.py checks every target has one).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUNTIME_STAMP := $(VENV)/.installed-runtime
NEEDS_PYTHON_311 := $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "speaker-audio needs Python 3.11+" or 0)'

.PHONY: help install install-runtime generate check-generated pin check-upstream lint format typecheck check test pytest demo bench bench-venv fuzz soak clean

.DEFAULT_GOAL := install

help:  ## list every target with what it does
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-zA-Z][a-zA-Z0-9_-]*:[^=]*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(STAMP)  ## create .venv with the package in editable mode and its dev tools (make test does it itself)

$(STAMP): pyproject.toml
	@$(NEEDS_PYTHON_311)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP) $(RUNTIME_STAMP)

# make demo needs only the package and its runtime dependencies (httpx, attrs): a fresh clone gets a small .venv
# quickly, and make install / make test add the dev tools to the same .venv later. After make install this is done.
install-runtime: $(RUNTIME_STAMP)  ## create .venv with the package in editable mode and its runtime dependencies only (make demo does it itself)

$(RUNTIME_STAMP): pyproject.toml
	@$(NEEDS_PYTHON_311)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	touch $(RUNTIME_STAMP)

generate: install  ## regenerate generated/speaker_audio_api from openapi/, and the sync client from the async one
	$(PY) scripts/generate.py
	$(PY) scripts/unasync.py

check-generated: install  ## fail if generated/ or the sync client differ from what make generate would write
	$(PY) scripts/generate.py --check
	$(PY) scripts/unasync.py --check

# pin and check-upstream fail as make does, with status 2; make's last line ("Error 3") carries pin_spec.py's own
# status: 1 the pin would change (--check), 2 usage error, 3 breaking change refused (docs/upstream-changes.md).
pin: install  ## make pin SPEC=path-or-url [PIN_ARGS="--accept-breaking --commit SHA --date YYYY-MM-DD --add-operation 'GET /v1/...'"]: re-pin and report each change; fails (make: "Error 3") on a breaking change, "Error 2" on a usage error, writing nothing
	$(PY) scripts/pin_spec.py $(or $(SPEC),../shared/upstream/elevenlabs-openapi.full.json) $(PIN_ARGS)

check-upstream: install  ## make check-upstream SPEC=path-or-url: writes nothing; fails (make: "Error 1") if the pin would change for that upstream document (not part of make test)
	$(PY) scripts/pin_spec.py $(or $(SPEC),../shared/upstream/elevenlabs-openapi.full.json) --check

lint: install  ## ruff check and ruff format --check of facade, scripts and tests
	$(VENV)/bin/ruff check facade scripts tests
	$(VENV)/bin/ruff format --check facade scripts tests

format: install  ## ruff --fix and ruff format of facade, scripts and tests
	$(VENV)/bin/ruff check --fix facade scripts tests
	$(VENV)/bin/ruff format facade scripts tests

typecheck: install  ## mypy --strict of facade/speaker_audio, scripts and tests
	$(VENV)/bin/mypy facade/speaker_audio scripts tests

pytest: install  ## the test suite alone (part of make test)
	$(PY) -m pytest

# The inner loop: tests/unit and tests/client, on every core (pytest-xdist), without the tests marked `tooling`
# (tests/tooling/: packaging, drills, conformance, docs); tests/cli, tests/fake and tests/property run in make test.
check: install lint typecheck  ## the inner loop (about 2 minutes): lint, typecheck, the unit and client tests; make test runs everything
	$(PY) -m pytest -q -n auto -m "not tooling" tests/unit tests/client

# The public-API gate: speaker_audio (static analysis of facade/) against facade/public-api.json, the
# snapshot of the last release. A break fails unless released as a new major version with a CHANGELOG entry.
.PHONY: api-check api-snapshot dist
api-check: install  ## the public API against facade/public-api.json, the last release's snapshot (part of make test)
	$(PY) scripts/api_check.py

api-snapshot: install  ## the release step: check, then refresh facade/public-api.json with the current API and version
	$(PY) scripts/api_check.py --snapshot

dist: install  ## sdist and wheel into dist/ (the wheel built from the sdist), checked by twine
	rm -rf dist
	$(PY) -m build --no-isolation --outdir dist .
	$(VENV)/bin/twine check --strict dist/*

.PHONY: verifytypes
verifytypes: install  ## pyright --verifytypes on the built wheel, installed apart from the checkout: fails below 100 %
	$(PY) scripts/verify_types.py

.PHONY: docs
docs: install  ## HTML API reference (pdoc) in build/docs/, the README as its first page; fails on an undocumented public name
	$(PY) scripts/check_docstrings.py
	$(PY) scripts/build_docs.py --out build/docs

# Stoplight Prism (from npm) mocks the pinned spec for the contract test in tests/tooling/test_conformance.py.
# `make pytest` installs it into .tools/ when npm is present. Without npm, or when npm cannot install it (e.g. its
# registry is unreachable: the reason goes to .tools/prism-unavailable.txt), this target says why and succeeds,
# and that test is skipped with the reason; the next `make prism` tries again.
PRISM := .tools/node_modules/.bin/prism
PRISM_PACKAGE := @stoplight/prism-cli@5
PRISM_UNAVAILABLE := .tools/prism-unavailable.txt

.PHONY: prism
prism: $(PRISM)  ## install Stoplight Prism into .tools/ when npm exists (the contract test uses it)

$(PRISM):
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "npm not found: Prism is not installed and its contract test will be skipped"; \
		exit 0; \
	fi; \
	mkdir -p .tools; \
	echo "installing $(PRISM_PACKAGE) into .tools/"; \
	if npm install --prefix .tools --no-audit --no-fund --loglevel=error $(PRISM_PACKAGE) >.tools/npm-install.log 2>&1 \
		&& test -x $(PRISM); then \
		rm -f $(PRISM_UNAVAILABLE); \
	else \
		{ echo "npm could not install $(PRISM_PACKAGE) (registry: $$(npm config get registry 2>/dev/null)):"; \
		  grep -v '^npm warn' .tools/npm-install.log | head -n 4; } >$(PRISM_UNAVAILABLE); \
		cat $(PRISM_UNAVAILABLE); \
		echo "Prism is not installed: its contract test will be skipped (make prism tries again)"; \
	fi

pytest: prism

# The support matrix (docs/compatibility.md: "Pythons and dependencies"): pytest on each supported Python with the newest
# dependencies, and on the lowest set (httpx and attrs at their floors) on the oldest, each in its own nox venv under
# .matrix/ (scripts/noxfile.py). A Python that is not installed is skipped; the summary lists every leg.
.PHONY: matrix
matrix: install prism  ## make matrix [MATRIX_ARGS="-s tests-3.13 -- -x"] (nox arguments; after -- pytest's)
	$(PY) scripts/matrix.py $(MATRIX_ARGS)

test: install check-generated lint typecheck api-check verifytypes pytest  ## everything CI runs: drift check, lint, types, API gate, pyright, pytest

demo: install-runtime  ## the Python API and the CLI against the built-in fake ElevenLabs API (no key, no network), then what to try next
	$(PY) -m speaker_audio._demo

bench: install  ## make bench [BENCH_ARGS=--quick]; the official SDK goes only into .bench/venv
	$(PY) scripts/bench.py $(BENCH_ARGS)

bench-venv: install  ## set up .bench/venv (the official SDK, for make bench) without running it
	$(PY) scripts/bench.py --setup

fuzz: install  ## long hypothesis run of the decoders and parsers (make test runs a shorter one)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q --timeout=0 tests/property/test_fuzz.py tests/unit/test_streaming.py tests/unit/test_decode.py

soak: install  ## thousands of async calls with random faults; writes its figures into docs/reliability.md
	$(PY) scripts/soak.py --write-doc

clean:  ## remove .venv, .matrix, build, dist and caches
	rm -rf $(VENV) .matrix build dist demo-output .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
