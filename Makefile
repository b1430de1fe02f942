# Two commands matter: `make demo` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install when the dependency list changes.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-12)
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install demo test lint ui clean benchmark

install: $(STAMP)

$(STAMP):
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and exactly pinned: the local CPU wheel, never the multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e '.[test,cohort]'
	touch $@

demo: install
	$(BIN)/neuro-omics demo

test: install
	$(BIN)/ruff check neuro_omics_assets neuro_omics_assets_tests benchmarks
	$(BIN)/pytest -q

ui: install
	$(BIN)/neuro-omics ui

benchmark: install
	$(BIN)/python benchmarks/encoder_throughput.py

clean:
	rm -rf $(VENV) .dagster_home warehouse .pytest_cache
