# Two commands matter: `make run` (the whole backend on this machine) and `make test` (every check).
# Both set themselves up on a fresh machine: a virtual environment with the project's packages.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help setup browser run demo test unit integration lint format clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP) ## Create the virtual environment with every package

# The browser test drives Debian's chromium through Playwright's executable_path; Playwright's own
# browser download (`playwright install`) is never used: its host is out of this machine's reach.
# A file target, so apt runs only when the binary is missing. CI runs as root; a developer may need sudo.
CHROMIUM := /usr/bin/chromium

browser: $(CHROMIUM) ## Install Debian's chromium for the browser test, if it is missing

$(CHROMIUM):
	@if [ "$$(id -u)" -eq 0 ]; then SUDO=""; \
	elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
	else echo "chromium is missing: run 'apt-get install chromium' as root" >&2; exit 1; fi; \
	$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium

run: $(STAMP) ## Start the backend locally (moto, Stripe stand-in, HTTP API) in the foreground
	$(BIN)/python -m infra.local_stack

demo: $(STAMP) ## A scripted conference run through HTTP against a private local stack
	$(BIN)/python -m infra.demo

test: lint browser ## Run every check and every test
	$(BIN)/pytest

unit: $(STAMP) ## Only the fast tests (domain, template)
	$(BIN)/pytest tests/unit tests/infra

integration: $(STAMP) ## Only the handler tests against moto and the Stripe stand-in
	$(BIN)/pytest tests/integration

lint: $(STAMP) ## ruff, mypy and cfn-lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml

format: $(STAMP) ## Format and fix what ruff can
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Certificates per second per core, ours against the naive baseline, in one run (noisy box: medians and
# the ratio). Writes bench/results/certificates.json. Never run two benchmarks at once.
.PHONY: bench
bench: $(STAMP) ## Measure: certificates/s vs a naive baseline, cold-start proxies, exact calls per operation
	$(BIN)/python -m bench.certificates
	$(BIN)/python -m bench.cold_start
	$(BIN)/python -m bench.call_counts

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
