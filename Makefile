# Every target is safe to run again: set-up steps check before they act.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
RUNBOOK := $(VENV)/bin/runbook
STAMP := $(VENV)/.installed
# Two workers; a file's tests stay on one worker, so tests that touch machine-wide state
# (apt, crontabs, init scripts) never run at the same time. `make test PYTEST_PARALLEL=`
# runs serially.
PYTEST_PARALLEL ?= -n 2 --dist loadfile

.PHONY: venv demo test test-deps test-min-deps lint bench clean

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
	$(VENV)/bin/pytest -q -p no:cacheprovider $(PYTEST_PARALLEL) $(PYTEST_ARGS)

# The suite against the oldest versions pyproject.toml allows (scripts/min_deps.py), in a
# venv of its own: run it after raising or lowering a floor.
test-min-deps: test-deps
	test -x .venv-min/bin/python || python3 -m venv .venv-min
	.venv-min/bin/pip install -q -e '.[test]' $$(python3 scripts/min_deps.py)
	.venv-min/bin/pytest -q -p no:cacheprovider $(PYTEST_PARALLEL) $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check runbook_engine tests bench

bench: venv test-deps
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .venv-min build *.egg-info .pytest_cache
