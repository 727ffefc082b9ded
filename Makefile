# The two commands: `make run` (the bot on the embedded default) and `make test` (everything CI runs).
# Each creates .venv on first use and reinstalls when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo serve test lint unit

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# With Slack or Teams credentials in the environment, serve them; otherwise the console demo.
run: $(STAMP)
	@if [ -n "$$SLACK_BOT_TOKEN$$SLACK_CLIENT_ID$$MICROSOFT_APP_ID" ]; then $(BIN)/nextpractice serve; else $(BIN)/nextpractice demo; fi

demo: $(STAMP)
	$(BIN)/nextpractice demo

serve: $(STAMP)
	$(BIN)/nextpractice serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Two workers: much of the suite waits on servers and subprocesses, so it takes about half the time on
# two cores (each worker has its own PostgreSQL database).
unit: $(STAMP)
	$(BIN)/pytest -n 2

test: lint unit
