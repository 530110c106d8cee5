# GridSweep: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
UV := $(PYTHON) -m uv
export UV_LINK_MODE ?= copy

.PHONY: demo test env lint typecheck pytest bench clean

# Installs uv (from PyPI) when missing, then the locked environment into .venv.
env: .venv/.synced
.venv/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --frozen
	@touch $@

demo: env
	$(UV) run gridsweep demo

test: env lint typecheck pytest

lint: env
	$(UV) run ruff check .
	$(UV) run ruff format --check .

typecheck: env
	$(UV) run mypy

# The whole suite on the embedded default, then every database test again on PostgreSQL.
pytest: env
	$(UV) run pytest
	GRIDSWEEP_TEST_DB=postgresql $(UV) run pytest tests/sync_server tests/integration

bench: env
	$(UV) run python bench/seed_bench.py

clean:
	rm -rf .venv data test-output .pytest_cache .mypy_cache .ruff_cache
