# Quick start:  make demo   (installs into .venv if needed, runs the workflow on the synthetic demo)
#               make test   (installs if needed, runs the whole test suite)
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
CORES  ?= 2
# Real test material beside the checkout is used when present (tests skip without it).
export SIGNSEARCH_TESTDATA ?= $(if $(wildcard ../shared/testdata),$(abspath ../shared/testdata),)

.PHONY: install demo test test-fast lint bench clean-demo help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/:\t/'

$(BIN)/signsearch: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

install: $(BIN)/signsearch  ## create .venv with the pinned dependencies and the package

demo: install  ## run the whole workflow on the synthetic demo dataset (config/config.yaml + config/demo.yaml)
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/snakemake --cores $(CORES)
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/snakemake --cores $(CORES) --report results/report/report.html

test: install  ## the whole test suite (incl. slow end-to-end tests; the Slurm test only with SIGNSEARCH_TEST_SLURM=1)
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m pytest -v

test-fast: install  ## the test suite without slow tests
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m pytest -m "not slow"

lint: install  ## snakemake --lint
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/snakemake --lint

clean-demo:  ## remove the demo's results (stops its database first)
	-$(BIN)/signsearch db stop
	rm -rf results logs benchmarks .snakemake
