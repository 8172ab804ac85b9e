# Two entry points: `make run` (install + start the bot, or the terminal console without a token)
# and `make test` (install + lint + the whole test suite). Both create .venv on first use.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python

.PHONY: run test lint install

run: install
	$(PY) -m bot

# -n auto: one pytest worker per core; every worker has its own database and Redis db.
test: install lint
	$(PY) -m pytest -n auto

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	touch $@
