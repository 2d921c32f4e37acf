# LendBridge developer commands. A fresh machine needs only `make sandbox` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Pure domain modules checked with mypy --strict (no Flask/SQLAlchemy inside).
STRICT := platform/lendbridge/core $(wildcard platform/lendbridge/*/domain.py) \
          $(wildcard platform/lendbridge/loans/schedules.py platform/lendbridge/loans/apr.py \
            platform/lendbridge/loans/waterfall.py platform/lendbridge/loans/accrual.py \
            platform/lendbridge/loans/states.py platform/lendbridge/loans/delinquency.py \
            platform/lendbridge/loans/credit_lines.py platform/lendbridge/loans/terms.py \
            platform/lendbridge/ledger/postings.py platform/lendbridge/crypto \
            platform/lendbridge/identity/validators.py platform/lendbridge/identity/masking.py platform/lendbridge/widget/sms.py \
            platform/lendbridge/identity/kyc.py platform/lendbridge/identity/facts.py) \
          $(wildcard platform/lendbridge/webhooks/retries.py platform/lendbridge/webhooks/ssrf.py \
            platform/lendbridge/webhooks/patterns.py platform/lendbridge/webhooks/transport.py \
            platform/lendbridge/webhooks/messages.py platform/lendbridge/webhooks/secrets.py \
            platform/lendbridge/events/reference.py) \
          $(wildcard platform/lendbridge/risk/ports.py platform/lendbridge/risk/reasons.py \
            platform/lendbridge/risk/rules.py platform/lendbridge/risk/graph.py platform/lendbridge/risk/features.py \
            platform/lendbridge/risk/scorecard.py platform/lendbridge/risk/matching.py \
            platform/lendbridge/risk/pricing.py platform/lendbridge/risk/decision.py) \
          $(addprefix platform/lendbridge/payments/,$(addsuffix .py,instructions codes breaker health routing engine schedules reconciliation ports banks)) \
          webhooks/lendbridge_webhooks sdk/lendbridge_sdk
SYSTEM_PACKAGES := tesseract-ocr tesseract-ocr-chi-sim fonts-noto-cjk

.PHONY: help install system-deps browser sandbox test lint format bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

install: $(STAMP) system-deps ## create .venv and install everything (idempotent)

$(STAMP): setup.cfg pyproject.toml $(wildcard sdk/pyproject.toml)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,prod]'
	touch $@

system-deps: ## Debian packages the OCR needs (tesseract, Chinese data, CJK font)
	@bash scripts/ensure-debian-packages.sh $(SYSTEM_PACKAGES)

browser: ## Debian chromium for the widget tests
	@bash scripts/ensure-debian-packages.sh chromium

sandbox: install ## run the platform on the embedded default with demo data
	$(BIN)/lendbridge sandbox

lint: $(STAMP) ## ruff and mypy (strict on the domain core, SDK and webhooks library)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy platform/lendbridge sandbox/lendbridge_sandbox
	$(BIN)/mypy --strict $(STRICT)

format: $(STAMP) ## apply ruff formatting and safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install browser lint ## lint, then the whole test suite
	$(BIN)/pytest -n 2 --dist loadgroup

bench: install ## run the benchmarks in quick mode and print their figures
	@for b in tests/perf/bench_*.py; do echo "== $$b"; $(PY) $$b --quick || exit 1; done

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
