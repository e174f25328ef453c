# Set-up is automatic: each target creates .venv and installs what it needs on first use,
# with the exact versions in constraints.txt.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
CONSTRAINTS := constraints.txt

.PHONY: run test lab bench serve screenshots clean help

help:
	@echo "make run    the main job: a quick certification run (report in runs/)"
	@echo "make test   the full test suite"
	@echo "make lab    JupyterLab with a registered 'workbench' kernel"
	@echo "make bench  all benchmarks in benchmarks/"
	@echo "make serve  the Panel dashboards on http://127.0.0.1:5006/"
	@echo "make screenshots  the README's page screenshots, taken by the browser tests"

$(VENV)/.base: pyproject.toml $(CONSTRAINTS)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "workbench needs Python >= 3.11; $(PYTHON) is $$($(PYTHON) --version 2>&1) (make PYTHON=python3.11 ...)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -c $(CONSTRAINTS) -e '.[test]'
	$(PY) -m ipykernel install --sys-prefix --name workbench --display-name "Python (workbench)" > /dev/null
	@touch $@

$(VENV)/.lab: $(VENV)/.base
	$(PIP) install -c $(CONSTRAINTS) -e '.[test,lab]'
	@touch $@

run: $(VENV)/.base
	$(VENV)/bin/workbench certify --profile quick

# on every core, up to 4 (pytest-xdist); a file's tests on one worker, so a notebook's cells run in order
# (make test PYTEST_WORKERS=0 runs them in this process, one after the other)
PYTEST_WORKERS ?= auto
test: $(VENV)/.base
	$(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env -n $(PYTEST_WORKERS) --maxprocesses 4 --dist loadfile

serve: $(VENV)/.base
	$(VENV)/bin/workbench serve

screenshots: $(VENV)/.base
	$(PY) -m pytest -q tests/apps/test_browser.py
	@mkdir -p docs/img/pages
	cp runs/screenshots/*.png docs/img/pages/

lab: $(VENV)/.lab
	@mkdir -p notebooks
	$(VENV)/bin/jupyter lab notebooks/

$(VENV)/.bench: $(VENV)/.base
	$(PIP) install -c $(CONSTRAINTS) -e '.[test,bench]'
	@touch $@

# NautilusTrader, a peer of bench_backtest, needs pandas < 3: it gets an environment of its own
NAUTILUS := .venv-nautilus
$(NAUTILUS)/.base: benchmarks/peers/nautilus-constraints.txt
	@test -x $(NAUTILUS)/bin/python || $(PYTHON) -m venv $(NAUTILUS)
	$(NAUTILUS)/bin/python -m pip --disable-pip-version-check -q install -c $< nautilus_trader
	@touch $@

# every benchmark, the dashboard's 20 browsers last (they leave the machine loaded for a while)
BENCHES = bench_backtest bench_optimize bench_broker bench_feed bench_monitor bench_analytics bench_options \
	bench_reliability bench_dashboard

bench: $(VENV)/.bench $(NAUTILUS)/.base
	@mkdir -p benchmarks/results
	@run=$$(date -u +%Y%m%dT%H%M%SZ); for b in $(BENCHES); do echo "== benchmarks/$$b.py"; \
		WORKBENCH_BENCH_RUN=$$run $(PY) benchmarks/$$b.py --json benchmarks/results/$$b.json || exit 1; done
	$(PY) benchmarks/report.py

clean:
	rm -rf $(VENV) $(NAUTILUS) .pytest_cache .hypothesis runs
