# Every target is safe to run again: set-up steps check before they act.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
RUNBOOK := $(VENV)/bin/runbook
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-deps lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(RUNBOOK) run playbooks/demo.yml -i inventories/local.yml

test-deps:
	bash scripts/install-test-deps.sh

test: test-deps venv
	$(VENV)/bin/ruff check runbook_engine tests
	$(VENV)/bin/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check runbook_engine tests bench

bench: venv test-deps
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
