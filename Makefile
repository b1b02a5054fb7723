# speaker-audio: every target a newcomer needs. `make test` and `make demo` set themselves up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install generate check-generated pin check-upstream lint format typecheck test pytest demo bench fuzz soak clean

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

pin: install  ## make pin SPEC=path-or-url-of-full-upstream-openapi.json [PIN_ARGS="--accept-breaking --add-operation 'GET /v1/...'"]
	$(PY) scripts/pin_spec.py $(or $(SPEC),../shared/upstream/elevenlabs-openapi.full.json) $(PIN_ARGS)

check-upstream: install  ## make check-upstream SPEC=path-or-url: exit 1 if the lock no longer matches that upstream document (not part of make test)
	$(PY) scripts/pin_spec.py $(or $(SPEC),../shared/upstream/elevenlabs-openapi.full.json) --check

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

# The public-API gate: speaker_audio (static analysis of facade/) against facade/public-api.json, the
# snapshot of the last release. A break fails unless released as a new major version with a CHANGELOG entry.
.PHONY: api-check api-snapshot dist
api-check: install
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

# Stoplight Prism (from npm) mocks the pinned spec for the contract test in tests/test_conformance.py.
# `make pytest` installs it into .tools/ when npm is present. Without npm, or when npm cannot install it (e.g. its
# registry is unreachable: the reason goes to .tools/prism-unavailable.txt), this target says why and succeeds,
# and that test is skipped with the reason; the next `make prism` tries again.
PRISM := .tools/node_modules/.bin/prism
PRISM_PACKAGE := @stoplight/prism-cli@5
PRISM_UNAVAILABLE := .tools/prism-unavailable.txt

.PHONY: prism
prism: $(PRISM)

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

# The support matrix (README: "Supported Pythons and dependencies"): pytest on each supported Python with the newest
# dependencies, and on the lowest set (httpx and attrs at their floors) on the oldest, each in its own nox venv under
# .matrix/ (scripts/noxfile.py). A Python that is not installed is skipped; the summary lists every leg.
.PHONY: matrix
matrix: install prism  ## make matrix [MATRIX_ARGS="-s tests-3.13 -- -x"] (nox arguments; after -- pytest's)
	$(PY) scripts/matrix.py $(MATRIX_ARGS)

test: install check-generated lint typecheck api-check verifytypes pytest

demo: install
	$(PY) -m speaker_audio._demo

bench: install  ## make bench [BENCH_ARGS=--quick]; the official SDK goes only into .bench/venv
	$(PY) scripts/bench.py $(BENCH_ARGS)

bench-venv: install
	$(PY) scripts/bench.py --setup

fuzz: install  ## long hypothesis run of the decoders and parsers (make test runs a shorter one)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q --timeout=0 tests/test_fuzz.py tests/test_streaming.py tests/test_decode.py

soak: install  ## thousands of async calls with random faults; writes its figures into docs/reliability.md
	$(PY) scripts/soak.py --write-doc

clean:
	rm -rf $(VENV) .matrix build dist demo-output .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
