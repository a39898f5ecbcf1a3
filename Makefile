# The two commands of the README: `make run` and `make test`. Both set up .venv when needed.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-unit faults fuzz model cluster-test container-test bench venv clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "setuptools>=68,<82" wheel
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

venv: $(BIN)/.installed

run: venv
	VENV=$(VENV) deploy/run-local.sh

test: venv
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

# The lifecycle model (tests/integration/test_lifecycle_model.py) longer and random: 500 examples of 60
# steps per backend (make test runs 40 of 40, derandomized). MODEL_ARGS="-k sqlite" picks a backend.
model: venv
	TDKT_MODEL_EXAMPLES=500 TDKT_MODEL_STEPS=60 TDKT_MODEL_RANDOM=1 $(BIN)/python -m pytest \
		tests/integration/test_lifecycle_model.py -p no:logging --timeout=0 $(MODEL_ARGS)

# A batch of nominations while one node of a local three-node RabbitMQ cluster (quorum queues) stops
# and starts (deploy/rabbitmq/cluster.sh); on demand.
cluster-test: venv
	$(BIN)/python -m pytest -m cluster tests/cluster -s

# deploy/Dockerfile built and run with podman (as root; deploy/containers/setup.sh installs podman, runc,
# debootstrap and podman-compose from Debian): the three services as hardened containers against the
# local RabbitMQ and PostgreSQL, then deploy/compose.yml itself with stand-ins for the images that
# cannot be pulled here (tests/containers); on demand. The first run makes a Debian base image (a few
# minutes, cached under var/containers/).
container-test: venv
	deploy/containers/setup.sh
	$(BIN)/python -m pytest -m containers tests/containers -s $(PYTEST_ARGS)

# The year-end benchmark (tests/bench): submit_nomination against a bare Nameko echo service, then
# 2,500, 5,000 and 10,000 nominations through both councils to the last mail; about 10 minutes.
# Writes var/bench/ and prints the table. BENCH_ARGS passes options (python -m tests.bench --help).
bench: venv $(BIN)/py-spy
	deploy/rabbitmq/management.sh
	EVENTLET_TESTS=1 $(BIN)/python -m tests.bench $(BENCH_ARGS)

$(BIN)/py-spy: $(BIN)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev,bench]"

clean:
	rm -rf var/ .pytest_cache .hypothesis
