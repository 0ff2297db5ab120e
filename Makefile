# Two commands: `make up` runs Persona locally, `make test` runs every test.
# Both create .venv and install everything on first use; later runs skip the
# install until pyproject.toml changes.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test install lock openapi synth bench clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Persona needs Python >= 3.11 ($(PYTHON) is older); run: make PYTHON=python3.11 ..."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25"
	$(BIN)/python -m pip install --quiet -e '.[dev]' -c constraints.txt
	@# Real data for tests and the demo: CDNOW's orders ship inside lifetimes; its own
	@# dependencies (pandas, scipy, autograd) are not needed to read the file.
	$(BIN)/python -m pip install --quiet --no-deps "lifetimes==0.11.3"
	@# MovieLens 100k ships inside recbole: data only (the recommender's quality tests), none of its code.
	$(BIN)/python -m pip install --quiet --no-deps "recbole==1.2.1"
	@# The web pages are tested in Debian's chromium (Playwright's own browser downloads are blocked).
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { echo "make: installing chromium for the browser tests"; apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; } \
	  || echo "make: chromium is not installed and cannot be here; the browser tests will be skipped"; }
	@touch $@

install: $(STAMP)

## Re-resolve the pinned transitive versions after a pyproject.toml change.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade "pip>=25" && .lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	{ echo "# Every transitive version, pinned (pyproject.toml pins the direct ones)."; echo "# Regenerate after changing pyproject.toml: make lock"; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^-e'; } > constraints.txt
	rm -rf .lock-venv

## Run the whole system locally (moto + HTTP API + queue dispatcher), with demo data.
up: $(STAMP)
	$(BIN)/persona up $(ARGS)

## Run every test. pytest's exit code 5 (nothing collected) is a failure, not a pass.
test: $(STAMP)
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests; failing"; exit 1; fi; exit $$rc

## Regenerate the OpenAPI document from the handlers.
openapi: $(STAMP)
	$(BIN)/persona openapi

## Synthesize the CDK app (offline, bundles with pip, no Docker) into cdk.out/.
synth: $(STAMP)
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 $(BIN)/python infra/app.py

bench: $(STAMP)
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/crm_import.py
	$(BIN)/python bench/recommend.py
	$(BIN)/python bench/assign.py
	$(BIN)/python bench/results.py
	@# bench/consent_latency.py needs a running `make up` (see the README).
	@# A smaller load than the README's (10,000 events during a 100,000-row import: bench/load.py without options, ~20 min).
	$(BIN)/python bench/load.py --events 1000 --rows 10000

clean:
	rm -rf $(VENV) cdk.out .persona .pytest_cache
