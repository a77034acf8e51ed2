# nbplatform: `make up` runs the platform, `make test` runs every test.
# Both install what they need first (idempotent: a second run with nothing
# changed does nothing but start). Stamps in .stamps/ record what is done.

SHELL := /bin/bash
# The interpreter of .venv: python3, unless that is closed to other users and the
# hub will run as root (hub/pick-python says why).
PYTHON ?= $(shell hub/pick-python)
VENV := .venv
BIN := $(VENV)/bin
LAB := extensions/nbplatform-lab
STAMPS := .stamps
PYPROJECTS := pyproject.toml lib/pyproject.toml hub/pyproject.toml jobs/pyproject.toml features/pyproject.toml drift/pyproject.toml $(LAB)/pyproject.toml
LAB_SOURCES := $(LAB)/package.json $(LAB)/yarn.lock $(LAB)/tsconfig.json \
  $(shell find $(LAB)/src -name '*.ts' -o -name '*.tsx') \
  $(shell find $(LAB)/style $(LAB)/schema -type f)
PYTEST_ARGS ?=
# The venv's tools (jlpm, jupyter) come first, also for the extension's build hook.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: up install test test-fast bench lint format clean-state help FORCE

help:
	@echo "make up     install (first time) and run the platform at http://127.0.0.1:8000"
	@echo "make test   install (first time) and run every test"
	@echo "make bench  run the benchmarks in bench/"
	@echo "make lint   ruff, eslint and prettier"

up: install
	@$(BIN)/nbplatform up

install: $(STAMPS)/python $(STAMPS)/node $(STAMPS)/kernels $(STAMPS)/labext

$(STAMPS)/check:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || \
	  { echo "nbplatform needs Python 3.11 or newer as '$(PYTHON)' (set PYTHON=/path/to/python3.11)."; exit 1; }
	@command -v node >/dev/null 2>&1 || \
	  { echo "nbplatform needs Node.js 20 or newer on the PATH for the proxy and the JupyterLab extension: install it, then run make again."; exit 1; }
	@node -e 'process.exit(parseInt(process.versions.node) >= 20 ? 0 : 1)' || \
	  { echo "nbplatform needs Node.js 20 or newer; found $$(node --version)."; exit 1; }
	@mkdir -p $(STAMPS) && touch $@

# Rewritten only when the interpreter changes, which rebuilds the venv.
$(STAMPS)/interpreter: FORCE
	@mkdir -p $(STAMPS)
	@p="$$(command -v $(PYTHON) || echo $(PYTHON))"; echo "$$p" | cmp -s - $@ || echo "$$p" > $@

$(STAMPS)/venv: $(STAMPS)/check $(STAMPS)/interpreter
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@touch $@

# The lab extension's JavaScript is built before its Python package is installed.
$(STAMPS)/labjs: $(STAMPS)/venv $(LAB_SOURCES)
	$(BIN)/pip install --quiet 'jupyterlab>=4.6,<5' 'hatch-jupyter-builder>=0.10' 'hatchling>=1.25'
	cd $(LAB) && jlpm install && jlpm build:prod
	@touch $@

$(STAMPS)/python: $(STAMPS)/venv $(STAMPS)/labjs $(PYPROJECTS)
	$(BIN)/pip install --quiet -e 'lib[all]' -e 'hub[postgres,s3]' -e jobs -e features -e drift -e $(LAB) -e '.[test]' && { test -x $(BIN)/nbplatform || $(BIN)/pip install --quiet --no-deps -e lib; }
	@touch $@

# The editable install copies the built extension into the venv's
# share/jupyter/labextensions and enables the server extension; check both.
$(STAMPS)/labext: $(STAMPS)/python $(STAMPS)/labjs
	$(BIN)/jupyter labextension list 2>&1 | grep -q "nbplatform-lab.*enabled.*OK"
	$(BIN)/jupyter server extension list 2>&1 | grep -q "nbplatform_lab.*enabled"
	$(BIN)/jupyter labextension disable --level=sys_prefix "@jupyterlab/apputils-extension:announcements" >/dev/null 2>&1
	@touch $@

$(STAMPS)/node: $(STAMPS)/check package.json
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

$(STAMPS)/kernels: $(STAMPS)/python $(wildcard kernels/*/kernel.json)
	for k in kernels/*/; do $(BIN)/jupyter kernelspec install "$$k" --sys-prefix --replace >/dev/null; done
	@touch $@

# Debian's Chromium drives the browser tests (never a downloaded browser).
$(STAMPS)/chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }
	@mkdir -p $(STAMPS) && touch $@

# Debian's PostgreSQL server: the tests start their own on a loopback port
# (tests/backends_support.py) for the platform's PostgreSQL backends.
$(STAMPS)/postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; fi; }
	@mkdir -p $(STAMPS) && touch $@

test: install $(STAMPS)/chromium $(STAMPS)/postgresql
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd $(LAB) && jlpm lint:check
	cd $(LAB) && jlpm test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python "$$script" || exit 1; done

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
	cd $(LAB) && jlpm lint:check

format: install
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .
	cd $(LAB) && jlpm lint

FORCE:

clean-state:
	rm -rf var
