# Every target installs what it needs first: on a fresh clone `make generate` and
# `make test` are the whole set-up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install generate test lint bench fuzz snapshot clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v psql >/dev/null 2>&1 || { \
	  echo "psql not found: installing postgresql-client"; \
	  apt-get update -qq && apt-get install -y -qq postgresql-client; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

## generate: render migrations/ from the bundled snapshot (or a live Odoo when ODOO_BASE_URL / ODOO_DSN is set)
generate: install
	$(BIN)/fbs-schema generate

## test: the whole test suite against a real PostgreSQL (DATABASE_URL / PG* variables, default 127.0.0.1:5432),
## one pytest worker per core (pytest-xdist); each test has its own databases
test: install
	$(BIN)/pytest -q -n auto

## fuzz: the hostile-snapshot, hostile-config and mutation-sequence property tests, long and random
## (make test runs them short and derandomized); FUZZ_SEED=N repeats a run
FUZZ_EXAMPLES ?= 5000
CONFIG_EXAMPLES ?= 1000
MUTATION_EXAMPLES ?= 400
FUZZ_SEED_OPTION = $(if $(FUZZ_SEED),--hypothesis-seed=$(FUZZ_SEED),)
fuzz: install
	FBS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FBS_FUZZ_RANDOM=1 $(BIN)/pytest -q tests/test_hostile.py \
	  -k property --hypothesis-show-statistics $(FUZZ_SEED_OPTION)
	FBS_CONFIG_FUZZ_EXAMPLES=$(CONFIG_EXAMPLES) FBS_FUZZ_RANDOM=1 $(BIN)/pytest -q tests/test_config_fuzz.py \
	  --hypothesis-show-statistics $(FUZZ_SEED_OPTION)
	FBS_MUTATION_EXAMPLES=$(MUTATION_EXAMPLES) FBS_FUZZ_RANDOM=1 $(BIN)/pytest -q tests/test_diff.py \
	  -k mutation_sequences --hypothesis-show-statistics $(FUZZ_SEED_OPTION)

## lint: semantic checks + generate --check (against the bundled snapshot) + sqlfluff + squawk over migrations/
lint: install
	$(BIN)/fbs-schema lint --snapshot snapshots/odoo-17.0-sales-inventory.json

## bench: benchmarks (not timed tests); writes bench/results.md and bench/results.json
bench: install
	$(BIN)/python -m bench

## snapshot: re-capture the bundled snapshot from the reference metadata in ../shared (maintainers only)
snapshot: install
	$(BIN)/python -m tests.support.make_fixtures ../shared/reference/odoo-17.0 ../shared/reference/odoo-18.0 ../shared/reference/odoo-19.0
	$(BIN)/python -m tests.support.make_bundled_snapshot

clean:
	rm -rf $(VENV) .pytest_cache
