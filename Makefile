# Two commands matter: `make demo` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install when the dependency list changes.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-12)
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install browser services demo test test-fast lint ui clean benchmark

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

# The browser test drives Debian's Chromium through chromedriver (nothing is downloaded at test time).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } || \
	  echo "chromium/chromedriver are missing: apt-get install chromium chromium-driver (or NEURO_OMICS_SKIP_BROWSER=1)"

# The servers the `services` tests start themselves (PostgreSQL, a single-node SLURM cluster with slurmdbd,
# munge and sshd): Debian packages, installed only when missing (root on Debian; elsewhere those tests skip).
SERVICE_PACKAGES := slurm-wlm slurmdbd munge mariadb-server openssh-server postgresql
services:
	@missing=""; for b in slurmctld slurmd slurmdbd munged mariadbd sshd; do \
	  command -v $$b >/dev/null 2>&1 || [ -x /usr/sbin/$$b ] || missing=1; done; \
	  ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing=1; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	        $(SERVICE_PACKAGES) >/dev/null; \
	    else echo "services tests will be skipped: they need root on Debian ($(SERVICE_PACKAGES))"; fi; fi

test: install browser services
	$(BIN)/ruff check neuro_omics_assets neuro_omics_assets_tests benchmarks
	$(BIN)/pytest -q

# The everyday tier: unit tests only (no Dagster runs, no browser, nothing marked slow).
test-fast: install
	$(BIN)/ruff check neuro_omics_assets neuro_omics_assets_tests benchmarks
	$(BIN)/pytest -q -m "not integration and not slow and not browser"

ui: install
	$(BIN)/neuro-omics ui

benchmark: install
	$(BIN)/python benchmarks/encoder_throughput.py

clean:
	rm -rf $(VENV) .dagster_home warehouse .pytest_cache
