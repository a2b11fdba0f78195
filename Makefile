# certctl developer entry points. `make run` = demo server, `make test` = every check.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# Branch coverage floor for the whole package; domain/ and pki/ must stay at 100 %.
COVERAGE_FLOOR ?= 90

.PHONY: install run test lint typecheck contracts pytest bench screenshots clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: install
	$(BIN)/certctl demo

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: install
	$(BIN)/mypy

contracts: install
	$(BIN)/lint-imports

# The pure layers (domain/, pki/) must stay fully covered by their unit tests: checked first,
# silent unless it fails, so that the last line of `make test` is the full suite's summary.
pytest: install
	$(BIN)/pytest --cov --cov-report= tests/unit -q > $(VENV)/unit-coverage.txt 2>&1 \
		&& $(BIN)/coverage report --include='src/certctl/domain/*,src/certctl/pki/*' --fail-under=100 > $(VENV)/pure-coverage.txt \
		|| { cat $(VENV)/unit-coverage.txt $(VENV)/pure-coverage.txt; exit 1; }
	$(BIN)/pytest --cov --cov-report=term --cov-fail-under=$(COVERAGE_FLOOR)

test: lint typecheck contracts pytest

# Every benchmark of bench/ at full size, one after the other, by hand on an idle machine
# (about 25 minutes; docs/performance.md). `make test` runs each at its smallest size instead
# (tests/bench), to prove they still work; no timing is ever judged.
bench: install
	$(BIN)/python bench/expiry_scan.py
	$(BIN)/python bench/dispatch.py
	$(BIN)/python bench/api_list.py
	$(BIN)/python bench/pki.py
	$(BIN)/python bench/agents.py

# PNGs of the dashboard's main pages (docs/screenshots), from a throwaway demo server.
screenshots: install
	$(BIN)/python scripts/screenshots.py --out docs/screenshots

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
