# Two entry points: `make demo` and `make test`. Everything they need is set up from the project's own files.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.requirements-installed
NODE_STAMP := node_modules/.package-lock-installed

.PHONY: setup lint test test-sqlite test-postgres demo bench clean

setup: $(VENV_STAMP) $(NODE_STAMP)

# requirements.txt is what a production server needs; requirements-dev.txt adds the test and lint tools.
$(VENV_STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Lint and format check (seconds), the whole suite on SQLite, then the Django tests again on PostgreSQL when
# TEST_POSTGRES_URL names a server.
test: setup lint test-sqlite test-postgres

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test-sqlite: setup
	$(PY) -m pytest

test-postgres: setup
	@if [ -n "$$TEST_POSTGRES_URL" ]; then \
		echo "Django tests on PostgreSQL ($$TEST_POSTGRES_URL)"; \
		DATABASE_URL="$$TEST_POSTGRES_URL" $(PY) -m pytest tests/platform -m "not browser"; \
	else \
		echo "TEST_POSTGRES_URL is not set: the PostgreSQL run of the Django tests is skipped (.ci/run sets it)."; \
	fi

demo: setup
	$(PY) -m demo

# The platform's benchmarks by default; `make bench BENCH="phantoms studies-build"` picks others (`python -m bench` lists them).
BENCH ?= delivery load
bench: setup
	$(PY) -m bench $(BENCH)

clean:
	rm -rf $(VENV) node_modules var staticfiles test-output
