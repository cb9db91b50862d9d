# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# Everything else here is a step of those two, usable on its own.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
DEMO_ARGS ?=
BENCH_ARGS ?=
CHAOS_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help test demo venv constraints system-deps kafka-jars kafka-start kafka-stop topics lint format \
        typecheck unit integration bench bench-scaling bench-codec bench-ingest bench-router \
        bench-consumer chaos clean

help:  ## List the targets.
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Lienthong needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) -V 2>&1). Set PYTHON=..."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

venv: $(STAMP)  ## Create .venv and install the project with its test and dev tools.

constraints:  ## Resolve the newest allowed dependencies afresh and pin them in constraints.txt.
	rm -rf build/constraints-venv && $(PYTHON) -m venv build/constraints-venv
	build/constraints-venv/bin/python -m pip install --quiet --upgrade pip
	build/constraints-venv/bin/python -m pip install --quiet -e '.[dev,bench]'
	{ sed -n '1,3p' constraints.txt; build/constraints-venv/bin/python -m pip freeze --exclude-editable; } > build/constraints.txt
	mv build/constraints.txt constraints.txt && rm -rf build/constraints-venv
	@echo "constraints.txt refreshed: run 'make test', then commit it"

system-deps:  ## Install (as root on Debian) or name the system packages the tests need.
	deploy/local/system-deps.sh install

kafka-jars:  ## Fetch the Apache Kafka broker jars from Maven Central into the cache, once.
	deploy/local/kafka.sh fetch

kafka-start: kafka-jars  ## Start a local single-node Kafka on 127.0.0.1:9092.
	deploy/local/kafka.sh start

kafka-stop:  ## Stop the local Kafka.
	deploy/local/kafka.sh stop

topics: venv  ## Create the topics of deploy/directory.example.yaml on the local Kafka.
	$(BIN)/lienthong topics apply

lint: venv  ## ruff: lint and formatting.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv  ## Reformat the code with ruff.
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: venv  ## mypy --strict over the package, the tests, the benchmarks and the fault suite.
	@mkdir -p build/typecheck && ln -sfn ../../services build/typecheck/lienthong
	$(BIN)/mypy build/typecheck/lienthong tests bench chaos

unit: venv  ## Unit tests only: no broker, no database.
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

test: system-deps venv kafka-jars lint typecheck  ## The full suite: lint, types, unit, integration, e2e.
	$(BIN)/pytest $(PYTEST_ARGS)

demo: venv kafka-jars  ## Run the whole pipeline on embedded defaults and print a summary.
	$(BIN)/lienthong demo $(DEMO_ARGS)

bench: venv kafka-jars system-deps  ## The whole axis under load beside its ceilings and a Quix Streams peer.
	@mkdir -p build/bench
	@test -x $(BIN)/py-spy || $(BIN)/python -m pip install --quiet -c constraints.txt -e '.[bench]'
	$(BIN)/python -m bench.pipeline --json build/bench/pipeline.json $(BENCH_ARGS)

bench-scaling: venv kafka-jars system-deps  ## Routers at 1 and 2 processes, consumers at 1, 4, 16 endpoints.
	@mkdir -p build/bench
	$(BIN)/python -m bench.scaling --json build/bench/scaling.json $(BENCH_ARGS)

bench-codec: venv  ## Codec encode/decode rate beside bare fastavro.
	$(BIN)/python -m bench.codec

bench-ingest: venv kafka-jars  ## HTTP API and Python client beside a raw produce ceiling.
	$(BIN)/python -m bench.ingest

bench-router: venv kafka-jars  ## Router at fan-out 1, 8, 64 beside a minimal loop and Kafka's tools.
	$(BIN)/python -m bench.router

bench-consumer: venv kafka-jars system-deps  ## Persistence into PostgreSQL and SQLite beside bulk inserts.
	$(BIN)/python -m bench.consumer

chaos: venv kafka-jars system-deps  ## Faults through the whole axis, then an audit (CHAOS_ARGS="--scenario short").
	@mkdir -p build/chaos
	$(BIN)/python -m chaos --json build/chaos/report.json $(CHAOS_ARGS)

clean:  ## Remove the virtualenv, caches and build output (not the Kafka jar cache).
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache .hypothesis
