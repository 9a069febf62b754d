# The commands people run. `make run` and `make test` set everything up first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
AXE := tests/browser/axe/node_modules/axe-core/axe.min.js

.PHONY: setup run test lint format bench chromium

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

## Set up, migrate, load the demo, reconcile schedules, run web + worker + beat + sandbox on :8000
# DEBUG is off unless turned on; the development run turns it on (its key, its static
# files, plain HTTP) for the commands below and every process scripts/run.py starts.
run: export DEBUG ?= 1
run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py sync_schedules
	$(PY) scripts/run.py

## Set up and run the whole test suite (PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
test: setup chromium $(AXE)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest

## axe-core for tests/browser/test_accessibility.py, pinned by its lock file (when npm is here)
$(AXE): tests/browser/axe/package.json tests/browser/axe/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/browser/axe --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: tests/browser/test_accessibility.py will skip"; fi

## Debian's Chromium for the browser tests (never `playwright install`)
chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Every benchmark (PostgreSQL and Redis as their headers say); installs the bench-only baselines
bench: setup
	$(VENV)/bin/pip install --quiet -r bench/requirements.txt
	$(PY) -m bench

.PHONY: tryton tryton-setup
## The Tryton warehouse on :8100 for the demo (README "A real warehouse: Tryton"); Ctrl-C stops it
tryton: setup
	$(PY) peers/tryton/peer.py run --port 8100

## Tryton's own virtualenv and seeded template (peers/tryton), for its end-to-end tests
tryton-setup: setup
	$(PY) peers/tryton/peer.py setup
test: tryton-setup

## The Medusa peer for a person: npm ci once, migrate once, serve on :9000 (MEDUSA_PORT)
## against the machine's PostgreSQL (MEDUSA_DATABASE_URL, else a postgres DATABASE_URL)
.PHONY: medusa medusa-install
medusa: setup
	$(PY) -m tests.medusa.peer serve

## Medusa's npm packages for its end-to-end tests (stamped: once per lock file; nothing without node)
medusa-install: setup
	$(PY) -m tests.medusa.peer install

test: medusa-install

## Add the store of `make medusa` to the demo of `make run` (ACME-US), with the same development settings
.PHONY: medusa-channel
medusa-channel: export DEBUG ?= 1
medusa-channel: setup
	$(PY) manage.py add_medusa_channel
