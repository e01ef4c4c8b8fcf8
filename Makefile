# Berth: `make run` starts everything in the foreground; `make test` runs the whole suite.
# Both install what they need first (a virtualenv in .venv, and Debian packages when root).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Extra arguments for pytest, e.g. `make pytest PYTEST_ARGS='-m "not browser" -x'`.
PYTEST_ARGS ?=

# gcc, the headers and libldap2-dev libsasl2-dev build python-ldap (django-auth-ldap's C part).
RUN_PACKAGES := docker-registry redis-server gcc libc6-dev python3-dev libldap2-dev libsasl2-dev
# slapd and ldap-utils: the LDAP sign-in tests start their own slapd.
TEST_PACKAGES := $(RUN_PACKAGES) skopeo chromium docker-compose slapd ldap-utils

.PHONY: help run test lint fmt typecheck pytest debian-run debian-test clean

help:
	@echo "make run        install what is missing, then run Berth in the foreground"
	@echo "make test       install what the tests need, then lint, type-check and run pytest"
	@echo "make lint       ruff check + ruff format --check"
	@echo "make fmt        ruff check --fix + ruff format"
	@echo "make typecheck  mypy"
	@echo "make pytest     pytest only (PYTEST_ARGS=... to pass options)"
	@echo "make clean      remove .venv (the data in var/ stays)"

run: debian-run $(VENV)/.installed-run
	exec $(BIN)/python manage.py run_berth

test: debian-test lint typecheck pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy .

# pytest's exit code 5 means it collected no tests: a failure here, never a pass.
pytest: $(VENV)/.installed-test
	@rc=0; $(BIN)/python -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [[ $$rc -eq 5 ]]; then echo "make: pytest collected no tests" >&2; exit 1; fi; \
	exit $$rc

debian-run:
	@deploy/ensure-debian-packages.sh $(RUN_PACKAGES)

debian-test:
	@deploy/ensure-debian-packages.sh $(TEST_PACKAGES)

clean:
	rm -rf $(VENV)

# --- the virtualenv: created once, dependencies reinstalled when pyproject.toml changes -----

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "make: Berth needs Python 3.11 or newer as $(PYTHON) (make PYTHON=...)" >&2; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
		rm -rf $(VENV); \
		deploy/ensure-debian-packages.sh python3-venv; \
		$(PYTHON) -m venv $(VENV); }
	@echo "make: created $(VENV)"

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	@echo "make: installing Berth's dependencies into $(VENV)"
	@$(BIN)/python deploy/requirements.py > $(VENV)/requirements-run.txt
	@$(BIN)/python -m pip install -qq --disable-pip-version-check \
		-r $(VENV)/requirements-run.txt
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	@echo "make: installing Berth's dependencies and test tools into $(VENV)"
	@$(BIN)/python deploy/requirements.py test > $(VENV)/requirements-test.txt
	@$(BIN)/python -m pip install -qq --disable-pip-version-check \
		-r $(VENV)/requirements-test.txt
	@touch $@ $(VENV)/.installed-run
