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

# Issue 16's faults on real processes, one table (README "Chaos"): a worker SIGKILLed
# mid-drain, Redis killed during intake, PostgreSQL restarted during a push, a 503 storm,
# timeouts after write, token expiry, revoked tokens then a reconnect, the API-limit
# pause. Like the bench, its own database and Redis DB (flushed by it), production
# settings in every child; Redis and PostgreSQL are broken only as throwaway servers of
# its own. Options: CHAOS_ARGS="--scenarios worker-sigkill,503-storm --bookings 100".
# (`make test` runs two of the scenarios with 50 bookings, and the outage tests.)
CHAOS_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/leadsync_chaos
CHAOS_REDIS_URL ?= redis://127.0.0.1:6379/11

chaos: install
	DATABASE_URL=$(CHAOS_DATABASE_URL) REDIS_URL=$(CHAOS_REDIS_URL) \
		$(BIN)/python manage.py chaos $(CHAOS_ARGS)

format: install
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var staticfiles
