# goldmine: `make run` runs the default analysis, `make test` the test suite.
# Both create the virtual environment on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all

# REANA's client pins Snakemake 7.32 and jsonschema 3.2, which goldmine's pins exclude: its own environment.
REANA_VENV := .venv-reana
REANA_CLIENT := reana-client==0.9.6

.PHONY: run run-ee-ww run-weinberg test bench clean help reana-env images push-images

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/ —/'

$(BIN)/goldmine: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/goldmine  ## run the default workflow (it writes results/<name>/report.html at its end)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --workflow-profile profiles/local --cores $(CORES)

run-ee-ww: $(BIN)/goldmine  ## the detector-level e+e- -> WW analysis (config/ee_ww.yaml; results/ee_ww/report.html)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --configfile config/ee_ww.yaml --workflow-profile profiles/local --cores $(CORES)

run-weinberg: $(BIN)/goldmine  ## the Weinberg-angle demo: design over √s, then measure sin²θ_W at the chosen and a naive √s (config/weinberg.yaml)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/snakemake --configfile config/weinberg.yaml --workflow-profile profiles/local --cores $(CORES)

test: $(BIN)/goldmine $(REANA_VENV)/bin/reana-client  ## run the tests (tests/test_reana.py uses the REANA client's own environment)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest

bench: $(BIN)/goldmine  ## speed and memory benchmarks (not tests)
	for script in benchmarks/bench_*.py; do PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python $$script || exit 1; done

$(REANA_VENV)/bin/reana-client:
	test -d $(REANA_VENV) || $(PYTHON) -m venv $(REANA_VENV)
	$(REANA_VENV)/bin/pip install --quiet '$(REANA_CLIENT)'
	touch $@

reana-env: $(REANA_VENV)/bin/reana-client  ## the REANA client in .venv-reana/ (docs/reana.md)

# The images' names and tags are those the rules use (workflow/rules/common.smk), without docker://.
image = $(shell sed -n 's|^$(1) = "docker://\(.*\)"|\1|p' workflow/rules/common.smk)

images:  ## build the goldmine and generator images (containers/*/README.md; needs Docker)
	docker build -f containers/goldmine/Dockerfile -t $(call image,GOLDMINE_IMAGE) .
	docker build -t $(call image,GENERATOR_IMAGE) containers/generator

push-images: images  ## push both images to their registry (docker login first)
	docker push $(call image,GOLDMINE_IMAGE)
	docker push $(call image,GENERATOR_IMAGE)

clean:  ## remove the results and logs of every analysis, and Snakemake's state
	rm -rf results logs .snakemake
