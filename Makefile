# dsobridge — the two commands a newcomer needs are `make demo` and `make test`.
# Another Python: `make test PYTHON=python3.13` (its own venv, .venv-python3.13).
PYTHON ?= python3
VENV   ?= .venv$(if $(filter python3,$(notdir $(PYTHON))),,-$(notdir $(PYTHON)))
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench lock wheel mutate clean

# exact versions (with hashes) from requirements.lock; the project itself editable on top
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dsobridge demo

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check $(wildcard src tests benchmarks)
	$(BIN)/ruff format --check $(wildcard src tests benchmarks)

bench: $(STAMP)
	for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# requirements.lock from the ranges in pyproject.toml (every Python from 3.11, hashes): after changing them
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet '.[lock]'
	$(BIN)/uv pip compile pyproject.toml --extra test --universal --python-version 3.11 --generate-hashes \
		--quiet -o requirements.lock

# the wheel, installed in a fresh venv from the lock and run from there (what CI checks)
wheel: $(STAMP)
	PYTHON=$(BIN)/python .ci/wheel

# Mutation testing of the core rules (docs/mutation-testing.md); slow, not run in CI. Scope: [tool.mutmut].
mutate: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,mutate]'
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results --all true | awk -F': ' '{ m = $$1; sub(/^ +/, "", m); sub(/\.x.*/, "", m); \
		n[m]++; if ($$2 == "killed") k[m]++ } END { for (m in n) printf "%-30s %4d of %4d killed\n", m, k[m], n[m] }'
	$(BIN)/mutmut results

clean:
	rm -rf .venv .venv-* build dist .pytest_cache .ruff_cache mutants
