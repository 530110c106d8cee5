# GridSweep: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
UV := $(PYTHON) -m uv
export UV_LINK_MODE ?= copy

.PHONY: demo test env lint typecheck pytest pytest-future docs bench bench-peer clean

# Installs uv (from PyPI) when missing, then the locked environment into .venv: the workspace's
# three packages (shared, sync_server, field_app with its desktop extra), editable, and the dev tools.
env: .venv/.synced
.venv/.synced: pyproject.toml shared/pyproject.toml sync_server/pyproject.toml \
		field_app/pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --frozen
	@touch $@

# make demo PORT=8100 APP_PORT=8650: other ports (GRIDSWEEP_PORT / GRIDSWEEP_APP_PORT work too).
demo: env
	$(UV) run gridsweep demo $(if $(PORT),--port $(PORT)) $(if $(APP_PORT),--app-port $(APP_PORT))

test: env lint typecheck pytest

lint: env
	$(UV) run ruff check .
	$(UV) run ruff format --check .

# The second pass types the app and shared against Python 3.12, the Python Flet bundles into the
# phone build (field_app/pyproject.toml); the machines here run 3.11.
typecheck: env
	$(UV) run mypy
	$(UV) run mypy --python-version 3.12 -p field_app -p shared

# The reference part of docs/sync-protocol.md, from shared/schema.py (a test checks it is current).
docs: env
	$(UV) run python -m shared.protocol_doc docs/sync-protocol.md

# The whole suite on the embedded default, then every test that touches the server's database
# again on PostgreSQL (tests/shared is pure; the browser tests drive a demo server of their own).
pytest: env
	$(UV) run pytest
	GRIDSWEEP_TEST_DB=postgresql $(UV) run pytest tests/sync_server tests/integration tests/field_app

# The suite again with the system clock years ahead (Debian's faketime): a test that holds a
# fixed day, or code that reads the wall clock outside shared.clock, fails here. The browser
# tests stay out (Chromium under libfaketime), and so do tests whose threads wait with a timeout:
# libfaketime fakes the monotonic clock but leaves sem_clockwait's deadline in real time, so such
# a wait never times out.
FUTURE ?= 2031-06-01
pytest-future: env
	faketime '$(FUTURE)' .venv/bin/pytest --ignore=tests/e2e -m "not thread_waits" -p no:cacheprovider

bench: env
	$(UV) run python bench/seed_bench.py

# GridSweep against PouchDB + express-pouchdb (bench/peer/run.py); needs Node.js 20 and npm.
bench-peer: env
	@# npm ci when node_modules is missing or older than the lock file (npm writes its own copy).
	@test bench/peer/node_modules/.package-lock.json -nt bench/peer/package-lock.json \
		|| (cd bench/peer && npm ci --no-audit --no-fund)
	$(UV) run python bench/peer/run.py

clean:
	rm -rf .venv data test-output .pytest_cache .mypy_cache .ruff_cache
