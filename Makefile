# goldmine: `make run` runs the default analysis, `make test` the test suite.
# Both create the virtual environment on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all
# The analysis's name (config key `name`): its results are under results/$(NAME)/.
NAME = $(shell $(BIN)/python -c 'from goldmine import config; print(config.load("config/config.yaml")["name"])')

.PHONY: run test bench clean help

help:  ## list the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/ —/'

$(BIN)/goldmine: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/goldmine  ## run the default workflow and write results/<name>/report.html
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --workflow-profile profiles/local --cores $(CORES)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --report results/$(NAME)/report.html

test: $(BIN)/goldmine  ## run the tests
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest

bench: $(BIN)/goldmine  ## speed and memory benchmarks (not tests)
	for script in benchmarks/bench_*.py; do PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python $$script || exit 1; done

clean:  ## remove the results and logs of every analysis, and Snakemake's state
	rm -rf results logs .snakemake
