# The two commands of the README: `make run` and `make test`. Both set up .venv when needed.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-browser bench-ballot bench-documents system-deps test-unit faults fuzz model cluster-test container-test bench venv clean

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

run: venv system-deps
	VENV=$(VENV) deploy/run-local.sh

# The browser tests (real Chromium through Playwright) run in a pytest process of their own, second:
# Playwright's sync API hangs in a process that eventlet has monkey-patched, as tests/conftest.py does.
test: venv system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(BIN)/python -m pytest -c browser_tests/pytest.ini browser_tests $(BROWSER_PYTEST_ARGS)

test-browser: venv
	$(BIN)/python -m pytest -c browser_tests/pytest.ini browser_tests $(BROWSER_PYTEST_ARGS)

# The ballot page of a 1,000-item sitting: time to first byte, to a usable page in Chromium, and 15
# members casting at once (on demand; figures in the README).
bench-ballot: venv
	deploy/rabbitmq/management.sh
	$(BIN)/python -m browser_tests.bench_ballot $(BENCH_ARGS)

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

# The documents of a 1,000-item ministry sitting (minutes, proposal, draft decision; DOCX and PDF): time
# and peak memory of the service's part and of LibreOffice, printed and written to var/bench/documents.json.
bench-documents: venv system-deps
	EVENTLET_TESTS=1 $(BIN)/python -m tests.bench.documents $(BENCH_ARGS)

$(BIN)/py-spy: $(BIN)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev,bench]"

clean:
	rm -rf var/ .pytest_cache .hypothesis
