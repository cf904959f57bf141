# Two commands do everything:  make report  ·  make test
# Each sets itself up on first use: .venv, pinned packages (constraints.txt), the Jupyter kernel.
# make report installs what the reports need; make test adds the test tools and the Spark engine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BASE   := $(VENV)/.installed-base
FULL   := $(VENV)/.installed-test
JOBS   ?= 2

.PHONY: report test test-fast test-notebooks lint lab setup clean-reports bench help

help:
	@echo "make report   clean the bundled data, run every notebook and every unit page, publish reports/index.html (the campaign overview)"
	@echo "make test     run every test (unit, property, notebooks, command line, Spark, browser), then the notebooks through nbval"
	@echo "make test-fast  unit and property tests only (no notebook, browser, Spark or slow test): under 90 s on 2 cores"
	@echo "make test-notebooks  every notebook through nbval against data/processed (what CI does to an edited notebook)"
	@echo "make lint     ruff check (configured in pyproject.toml)"
	@echo "make lab      open JupyterLab on notebooks/ with the project kernel"
	@echo "make bench    time the suite against the naive papermill+nbconvert way"

setup: $(BASE)

$(BASE): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name analysis --display-name "Python (analysis)" >/dev/null
	@touch $(BASE)

$(FULL): $(BASE)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,spark]"
	@touch $(FULL)

report: $(BASE)
	$(BIN)/python -m analysis run --jobs $(JOBS) --per-unit

# The fast tier leaves out what the markers in pyproject.toml name as slow. HYPOTHESIS_PROFILE=random
# make test-fast draws fresh property-test examples (the default profile "ci" is derandomized).
FAST := not notebook and not browser and not spark and not slow

test: $(FULL)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup
	$(MAKE) test-notebooks

# -p no:nbval: the nbval plugin imports nbformat and so jsonschema, whose rfc3987 grammar costs about
# 4 s of CPU at import; the fast tier has no use for it. PYTHONDONTWRITEBYTECODE is cleared so the
# assertion-rewritten test modules are cached in __pycache__: rewriting them all again takes about
# half of the collection time in every worker.
test-fast: $(FULL)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -p no:nbval -n $(JOBS) --dist loadgroup -m "$(FAST)" -q

# nbval runs each notebook as committed (default parameters, so data/processed: notebooks/conftest.py
# cleans data/raw into it first when it is missing or older than the raw files). --nbval-lax: the
# notebooks are committed without outputs, so cells are not compared; the value assertions are in
# tests/ (run_notebook fixture).
test-notebooks: $(FULL)
	$(BIN)/python -m pytest -p no:cacheprovider --nbval-lax --nbval-kernel-name analysis notebooks/ -q

lint: $(FULL)
	$(BIN)/ruff check .

lab: $(BASE)
	$(BIN)/jupyter lab --notebook-dir=notebooks

bench: $(BASE)
	$(BIN)/python benchmarks/bench_suite.py

clean-reports:
	rm -rf reports/* data/processed/*
	@touch reports/.gitkeep data/processed/.gitkeep
