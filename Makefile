# The two commands of the README: `make run` and `make test`. Both set up .venv when needed.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-unit faults fuzz cluster-test bench bench-documents system-deps venv clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "setuptools>=68,<82" wheel
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

venv: $(BIN)/.installed

# LibreOffice, Times-compatible fonts and poppler-utils for a sitting's documents (apt-get, as root; a
# no-op when present). `make run` checks them (shared/platform/preflight.py) and says what is missing.
system-deps:
	deploy/system-deps.sh

run: venv
	VENV=$(VENV) deploy/run-local.sh

test: venv system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-unit: venv
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

# The full fault-injection run (500 nominations, every fault type twice); it restarts the local
# RabbitMQ and PostgreSQL, so run it on a machine of its own.
faults: venv
	EVENTLET_TESTS=1 $(BIN)/python -m tests.faults.chaos --nominations 500 --faults 2

# The bus fuzz suite with 5,000 generated messages per service (make test sends 500).
fuzz: venv
	deploy/rabbitmq/management.sh
	TDKT_FUZZ_MESSAGES=5000 $(BIN)/python -m pytest tests/e2e/test_bus_fuzz.py $(PYTEST_ARGS)

# A batch of nominations while one node of a local three-node RabbitMQ cluster (quorum queues) stops
# and starts (deploy/rabbitmq/cluster.sh); on demand.
cluster-test: venv
	$(BIN)/python -m pytest -m cluster tests/cluster -s

# The year-end benchmark (tests/bench): submit_nomination against a bare Nameko echo service, then
# 2,500, 5,000 and 10,000 nominations through both councils to the last mail; about 10 minutes.
# Writes var/bench/ and prints the table. BENCH_ARGS passes options (python -m tests.bench --help).
bench: venv $(BIN)/py-spy
	deploy/rabbitmq/management.sh
	EVENTLET_TESTS=1 $(BIN)/python -m tests.bench $(BENCH_ARGS)

# The documents of a 1,000-item ministry sitting (minutes, proposal, draft decision; DOCX and PDF): time
# and peak memory of the service's part and of LibreOffice, printed and written to var/bench/documents.json.
bench-documents: venv system-deps
	EVENTLET_TESTS=1 $(BIN)/python -m tests.bench.documents $(BENCH_ARGS)

$(BIN)/py-spy: $(BIN)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev,bench]"

clean:
	rm -rf var/ .pytest_cache .hypothesis
