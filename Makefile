# Two commands on a fresh machine: `make run` and `make test`. Both create the venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test soak lint typecheck schemas dashboards clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

## run: start the embedded stack (broker, worker, alerts) with a synthetic authority
run: $(STAMP)
	@echo "the casewatch CLI is $(BIN)/casewatch (or: source $(BIN)/activate, then casewatch …)"
	$(BIN)/casewatch up

## test: lint, type-check and run every test (integration tests start the real broker)
test: $(STAMP)
	scripts/system-deps
	$(BIN)/ruff check schemas services tests deploy
	$(BIN)/ruff format --check schemas services tests deploy
	$(BIN)/mypy
	$(BIN)/pytest -q

## soak: the long reliability runs (a worker SIGKILLed 10 times while 50,000 events stream; hostile-message mixes with kills)
soak: $(STAMP)
	$(BIN)/pytest -q -m soak tests/reliability

schemas: $(STAMP)
	$(BIN)/python -m schemas.generate

## dashboards: regenerate deploy/grafana/dashboards/*.json from deploy/grafana/generate.py
dashboards: $(STAMP)
	$(BIN)/python -m deploy.grafana.generate

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
