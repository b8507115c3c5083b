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

# The checks and installs first, side by side (mypy, SAM's pip downloads and apt's chromium wait on different
# things); then two pytest processes at once, one per core, so each keeps its own memory: every test but the
# bench-shaped runs, and those runs (fault, fuzz, conference, load, demo: marker `runs`). --output-sync prints
# each part's output whole when it ends. Branch coverage of functions/ and shared/ over both processes.
test: ## Run every check (lint, sam validate, sam build), every test, and coverage
	@$(MAKE) --no-print-directory -j4 --output-sync=target lint validate build browser
	$(BIN)/coverage erase
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-suite test-runs
	$(BIN)/coverage combine --quiet
	$(BIN)/coverage report

.PHONY: test-suite test-runs
test-suite: $(STAMP)
	$(BIN)/coverage run -m pytest -m "not runs"

test-runs: $(STAMP)
	$(BIN)/coverage run -m pytest -m runs

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

# One run, one table (bench/report.py): cold start per function against a bare handler, exact calls per
# operation against their budgets, handler latency p50/p99 against moto, certificates/s against the naive
# baseline. Writes bench/results/bench.json; fails on an exact budget (calls, imports), marks timing ratios.
# Then whole conferences of 100, 500 and 2,000 attendees over HTTP (bench/conference_run.py,
# bench/results/conference_run.json). Never run two benchmarks at once.
.PHONY: bench
bench: $(STAMP) ## Measure: cold starts, exact calls per operation, handler latency, certificates/s (one table)
	$(BIN)/python -m bench.report
	$(BIN)/python -m bench.conference_run --sizes 100,500,2000

# Many concurrent registrants (duplicates, Idempotency-Key retries), payments and duplicate webhooks against a
# fresh local stack; latency per route. Writes bench/results/load.json; fails on any 5xx or a seat without
# exactly one confirmation. tests/e2e/test_runs.py runs a small one, and a small conference run.
.PHONY: load
load: $(STAMP) ## Load run: 300 seats from 32 threads, duplicates and retries; no 5xx, one confirmation per seat
	$(BIN)/python -m bench.load --registrants 300 --threads 32

# Reliability: the whole flow under injected faults, and requests generated from the OpenAPI document. Each on a
# private local stack; each writes bench/results/<name>.json and exits non-zero on any violation. `make test` runs
# a reduced version of both (tests/integration/test_fault_run.py, test_api_fuzz.py).
.PHONY: scale
scale: $(STAMP) ## Scale run: reminders and certificates as queued jobs for 1,000, 5,000, 20,000 attendees, SES throttled
	$(BIN)/python -m bench.scale --sizes 1000,5000,20000

.PHONY: faults fuzz
faults: $(STAMP) ## Fault run: 36 attendees through SES/DynamoDB/Stripe faults and webhook chaos; nothing lost or doubled
	$(BIN)/python -m bench.faults

fuzz: $(STAMP) ## Fuzz run: thousands of schemathesis requests from /openapi.json (admin routes included); no 5xx
	$(BIN)/python -m bench.fuzz

# --- Deployment: the SAM CLI lives in its own virtual environment (it pins an older boto3 than ours). ---
SAM_VENV := .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed
# No telemetry, no update check: builds and validation never reach out to anything but PyPI.
SAM_ENV := SAM_CLI_TELEMETRY=0 AWS_REGION=$${AWS_REGION:-us-east-1}

$(SAM_STAMP):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet 'aws-sam-cli>=1.140,<2'
	@touch $(SAM_STAMP)

.PHONY: validate build deploy cost
STAGE ?= dev
validate: $(STAMP) $(SAM_STAMP) ## sam validate --lint and cfn-lint on template.yaml (offline, no credentials)
	$(SAM_ENV) $(SAM) validate --lint --template-file template.yaml
	$(BIN)/cfn-lint template.yaml

# Every function is built by the `build-<LogicalId>` rule below (BuildMethod: makefile), in the source tree.
build: $(STAMP) $(SAM_STAMP) ## sam build: one package per function (arm64 wheels, only the libraries it uses), then checked
	$(SAM_ENV) $(SAM) build --build-in-source --template-file template.yaml
	$(BIN)/python -m infra.packaging check .aws-sam/build

build-%Function: $(STAMP)
	$(BIN)/python -m infra.packaging build $*Function "$(ARTIFACTS_DIR)"

cost: $(STAMP) ## What a conference costs on AWS for 2,000 and 100,000 attendees (template, agenda, list prices)
	$(BIN)/python -m infra.cost_model

deploy: build ## sam deploy --guided for STAGE=dev (default) or STAGE=prod, with samconfig.toml's settings
	$(SAM_ENV) $(SAM) deploy --guided --config-env $(STAGE)

clean: ## Remove the virtual environments, build output and caches
	rm -rf $(VENV) $(SAM_VENV) .aws-sam build .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*
