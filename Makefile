# Sprechstunde: each habit is one command. See README.md.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint pytest fuzz bench messages system-deps sbom clean

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { bash scripts/system-deps.sh python && $(PYTHON) -m venv $(VENV); }

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $@

install: $(VENV)/.installed

system-deps:
	@bash scripts/system-deps.sh

# Links in mails and in the demo data point at the address served (unless SITE_URL is set).
SITE_URL ?= http://$(HOST):$(PORT)
export SITE_URL

run: install
	@bash scripts/system-deps.sh runtime
	$(MANAGE) migrate --no-input
	$(MANAGE) load_demo_data
	$(MANAGE) serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src
	DJANGO_SETTINGS_MODULE=config.settings.test $(MANAGE) makemigrations --check --dry-run

pytest: install
	$(BIN)/pytest $(PYTEST_ARGS)

test: install system-deps lint pytest

# The Hypothesis properties of tests/fuzz with 10,000 cases each (make test runs a few
# hundred, derandomised). Failures found are kept in .hypothesis/ and tried first next time.
fuzz: install
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -m fuzz tests/fuzz $(PYTEST_ARGS)

bench: install
	@bash scripts/system-deps.sh bench
	$(BIN)/python bench/run_all.py

# CycloneDX SBOM (JSON) of the Python environment and the Debian packages the app needs
# (scripts/system-deps.sh groups python, runtime, services, test). CI writes test-artifacts/ci/sbom.json.
SBOM ?= test-artifacts/sbom.json
sbom: install
	$(BIN)/python scripts/sbom.py --output $(SBOM) --python $(BIN)/python

messages: install
	$(MANAGE) makemessages -l de -l en -l uk -l ar -l tr -l ru -l fa --no-obsolete --no-wrap --ignore '.venv/*' --ignore 'var/*' --ignore 'test-artifacts/*' --ignore 'tests/*' --ignore 'bench/*' --ignore '*/tests/*'
	$(MANAGE) compilemessages --ignore .venv

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
