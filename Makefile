# The two commands a newcomer needs: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

# Every target here is for development: the first-run defaults (leadsync/settings.py).
export DJANGO_DEBUG ?= true

# Tests run against real PostgreSQL and Redis (`.ci/run` starts them when they are down).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/leadsync
TEST_REDIS_URL ?= redis://127.0.0.1:6379/1

.PHONY: run test install lint format bench chaos clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_setup
	$(BIN)/python -m leadsync.supervisor Procfile

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(BIN)/pytest

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports --no-cache

# The bench uses a database and a Redis DB of its own (created / flushed by it). This
# process only drives; the web and worker processes it starts run with production settings
# (DJANGO_DEBUG=false, secrets it generates). Modes and options: README "Benchmarks".
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/leadsync_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/9

bench: install
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) \
		$(BIN)/python manage.py bench_pipeline $(BENCH_ARGS)

# Outages on real processes, as in issue 16 but longer: Redis killed twice for 15 s under a
# worker, beat and gunicorn taking bookings; PostgreSQL stopped under gunicorn. The tests
# start a Redis and a PostgreSQL of their own to break; the shared ones are only used as
# in `make test`. (`make test` runs the same tests with one 5 s outage.)
chaos: install
	CHAOS_OUTAGE_SECONDS=15 CHAOS_OUTAGES=2 \
		DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(BIN)/pytest -v tests/bookings/test_outages_live.py tests/leadsync/test_broker_outage.py

format: install
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var staticfiles
