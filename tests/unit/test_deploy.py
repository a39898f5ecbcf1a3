"""deploy/'s image, Compose file and Kubernetes manifests, checked by reading them as Docker, Compose and
Kubernetes would (no engine or cluster runs here): every variable resolves from ``.env.example``, every
service's environment is a valid production configuration, every broker user exists with its password
and the permissions its queues need, each command starts a real service class, and the containers have
health checks, restart policies, probes, limits and disruption budgets.

Long because every file of deploy/ is checked against the others over one parse of each.
"""
import importlib
import re
import subprocess
import sys
import tomllib
from urllib.parse import urlsplit

import pytest

from shared.platform.config import ConfigError, load_settings
from shared.platform.observability import http_port
from tests.deploy_files import (DEPLOY, dockerfile_stages, exec_form, interpolate, k8s_documents, load_compose,
                                read_env_file, variables_in)
from tests.harness import ROOT, expected_queues
from tests.rabbit_users import loader

SERVICES = ("intake", "review", "notify")
RAW, COMPOSE, ENV = load_compose()
LOAD = loader()
IMAGE_CONFIG = "/etc/tdkt/nameko.yml"  # deploy/nameko.yml in the image
START = re.compile(r"^(?P<module>services\.(?P<service>\w+)\.service):(?P<cls>\w+)$")
SECRET_NAMES = re.compile(r"^(AMQP_URI|\w+_DB_URL|TDKT_ADMIN_TOKEN|TDKT_SECRET_KEY|SMTP_USER|SMTP_PASSWORD)$")


def permits(regex: str, name: str) -> bool:
    return regex != "" and re.search(regex, name) is not None


def environment(service: str) -> dict[str, str]:
    env = COMPOSE["services"][service]["environment"]
    assert isinstance(env, dict), "environment as a mapping, so values are checked one by one"
    return {key: str(value) for key, value in env.items()}


def mounts(service: str) -> dict[str, str]:
    """Container path -> host path (relative to deploy/) of a compose service's bind mounts."""
    pairs = (volume.split(":")[:2] for volume in COMPOSE["services"][service].get("volumes", []))
    return {target: source for source, target in pairs if source.startswith((".", "/"))}


def started_class(command: list[str]):
    """The service class a container's command starts: nameko with the image's config file (the
    broker from the environment), never a shell or a --broker argument that would show the password."""
    assert command[:4] == ["nameko", "run", "--config", IMAGE_CONFIG] and len(command) == 5, command
    start = START.match(command[4])
    assert start, command
    cls = getattr(importlib.import_module(start["module"]), start["cls"])
    assert cls.name == start["service"]
    return cls


# --- the services' nameko config ---

def nameko_config(environ: dict[str, str]) -> dict:
    """deploy/nameko.yml as ``nameko run --config`` reads it in an environment ``environ``."""
    import functools

    import yaml
    from nameko.cli.main import IMPLICIT_ENV_VAR_MATCHER, env_var_constructor

    class Loader(yaml.SafeLoader):
        """nameko's setup_yaml_parser() on a loader of our own (it changes yaml.SafeLoader for good)."""

    Loader.add_constructor("!env_var", env_var_constructor)
    Loader.add_constructor("!raw_env_var", functools.partial(env_var_constructor, raw=True))
    Loader.add_implicit_resolver("!env_var", IMPLICIT_ENV_VAR_MATCHER, None)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AMQP_URI", raising=False)
        for key, value in environ.items():
            patch.setenv(key, value)
        return yaml.load((DEPLOY / "nameko.yml").read_text(encoding="utf-8"), Loader=Loader)


def test_the_nameko_config_takes_the_broker_from_the_environment_as_written():
    uri = "amqp://tdkt-review:p#ss:w0rd@rabbitmq:5672/tdkt"

    assert nameko_config({"AMQP_URI": uri}) == {"AMQP_URI": uri}
    assert nameko_config({}) == {"AMQP_URI": "amqp://guest:guest@localhost:5672/"}  # the local default


def test_no_way_of_starting_a_service_puts_the_broker_on_its_command_line():
    files = [DEPLOY / "run-local.sh", DEPLOY / "compose.yml", DEPLOY / "Dockerfile", ROOT / "tests" / "harness.py",
             ROOT / "README.md", *sorted((DEPLOY / "k8s").glob("*.yaml"))]
    for path in files:
        assert "--broker" not in path.read_text(encoding="utf-8"), path
    assert "COPY deploy/nameko.yml /etc/tdkt/nameko.yml" in (DEPLOY / "Dockerfile").read_text(encoding="utf-8")


# --- Compose ---

def test_every_variable_compose_uses_is_set_in_env_example_and_none_there_is_unused():
    used = variables_in(RAW)

    assert used == set(ENV), (used - set(ENV), set(ENV) - used)
    assert all(ENV.values()), "no empty value"


def test_compose_refuses_to_start_without_its_secrets():
    for secret in ("TDKT_ADMIN_TOKEN", "TDKT_SECRET_KEY", "POSTGRES_PASSWORD", "TDKT_REVIEW_AMQP_PASSWORD"):
        with pytest.raises(KeyError, match=secret):
            interpolate(RAW, {key: value for key, value in ENV.items() if key != secret})


def test_every_secret_placeholder_is_marked_for_replacement():
    for name in ("TDKT_ADMIN_TOKEN", "TDKT_SECRET_KEY", "POSTGRES_PASSWORD",
                 *(f"TDKT_{service.upper()}_DB_PASSWORD" for service in SERVICES)):
        assert ENV[name].startswith("change-me-"), name


def test_the_documented_way_of_writing_env_replaces_every_placeholder_with_a_distinct_secret(tmp_path):
    writer = re.search(r"python3 -c '([^']+)'", (DEPLOY / ".env.example").read_text(encoding="utf-8"))[1]
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / ".env").write_text((DEPLOY / ".env.example").read_text(encoding="utf-8"))

    subprocess.run([sys.executable, "-c", writer], cwd=tmp_path, check=True, timeout=60)
    written = read_env_file(tmp_path / "deploy" / ".env")
    replaced = {key: value for key, value in written.items() if ENV[key].startswith("change-me-")}
    assert writer in (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(set(replaced.values())) == len(replaced) == 6
    assert all(re.fullmatch(r"[0-9a-f]{48}", value) for value in replaced.values())
    _, compose, _ = load_compose(tmp_path / "deploy" / ".env")
    for service in SERVICES:
        settings = load_settings({key: str(value) for key, value in compose["services"][service]["environment"].items()})
        assert settings.db_url(service).startswith("postgresql")


def with_fresh_secrets(service: str) -> dict[str, str]:
    """The service's compose environment once deploy/.env's change-me placeholders are replaced."""
    env = {key: "f" * 8 + key.lower().replace("_", "") if value.startswith("change-me-") else value
           for key, value in ENV.items()}
    return {key: str(value) for key, value in interpolate(RAW, env)["services"][service]["environment"].items()}


@pytest.mark.parametrize("service", SERVICES)
def test_the_production_profile_refuses_the_env_examples_placeholders_until_they_are_replaced(service):
    with pytest.raises(ConfigError, match="TDKT_ADMIN_TOKEN.*change-me"):
        load_settings(environment(service))


@pytest.mark.parametrize("service", SERVICES)
def test_each_services_environment_is_a_valid_production_configuration(service):
    settings = load_settings(with_fresh_secrets(service))

    assert settings.profile == "production"
    database = urlsplit(settings.db_url(service))
    assert (database.scheme, database.hostname, database.path) == ("postgresql+psycopg2", "postgres", f"/{service}")
    broker = urlsplit(settings.amqp_uri)
    assert (broker.hostname, broker.port, broker.path) == ("rabbitmq", 5672, "/tdkt")


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_gets_only_its_own_database_and_broker_credentials(service):
    env = environment(service)

    assert {key for key in env if key.endswith("_DB_URL")} == {f"{service.upper()}_DB_URL"}
    assert urlsplit(env["AMQP_URI"]).username == f"tdkt-{service}"
    assert urlsplit(env[f"{service.upper()}_DB_URL"]).username == f"tdkt_{service}"


@pytest.mark.parametrize("service", SERVICES)
def test_each_services_database_role_is_the_one_the_init_script_creates_with_that_password(service):
    url = urlsplit(environment(service)[f"{service.upper()}_DB_URL"])
    postgres = {key: str(value) for key, value in COMPOSE["services"]["postgres"]["environment"].items()}
    script = (DEPLOY / "postgres" / "init-databases.sh").read_text(encoding="utf-8")

    assert url.password == postgres[f"TDKT_{service.upper()}_DB_PASSWORD"]
    assert re.search(rf"for service in [a-z ]*\b{service}\b", script)
    assert 'role="tdkt_$service"' in script and 'database="$service"' in script
    assert mounts("postgres")["/docker-entrypoint-initdb.d/10-tdkt-databases.sh"] == "./postgres/init-databases.sh"


def test_the_broker_imports_the_mounted_definitions_file_at_boot():
    rabbitmq = COMPOSE["services"]["rabbitmq"]
    conf_target = next(target for target in mounts("rabbitmq") if target.startswith("/etc/rabbitmq/conf.d/"))
    conf = dict(line.split(" = ", 1) for line in (DEPLOY / mounts("rabbitmq")[conf_target]).read_text().splitlines()
                if line and not line.startswith("#"))

    assert rabbitmq["image"] == "rabbitmq:3.13-management" and conf_target.endswith(".conf")
    assert conf["definitions.import_backend"] == "local_filesystem"
    assert conf["definitions.local.path"] in mounts("rabbitmq")
    assert mounts("rabbitmq")[conf["definitions.local.path"]] == "./rabbitmq/definitions.json"


@pytest.mark.parametrize("service", SERVICES)
def test_each_services_broker_user_exists_with_its_password_and_may_use_its_queues(service):
    definitions = LOAD.read_definitions(DEPLOY / mounts("rabbitmq")["/etc/rabbitmq/definitions.json"])
    uri = urlsplit(environment(service)["AMQP_URI"])
    user, vhost = uri.username, uri.path.lstrip("/")
    stored = next(entry for entry in definitions["users"] if entry["name"] == user)
    permission = next(entry for entry in definitions["permissions"] if (entry["user"], entry["vhost"]) == (user, vhost))

    assert LOAD.hash_matches(uri.password, stored["password_hash"])
    assert vhost in {entry["name"] for entry in definitions["vhosts"]}
    for queue in expected_queues(service):
        assert all(permits(permission[kind], queue) for kind in ("configure", "write", "read")), queue
    assert permits(permission["write"], f"{service}.events") or service == "notify"


@pytest.mark.parametrize("service", SERVICES)
def test_each_services_command_starts_its_real_service_class_with_the_broker_of_its_environment(service):
    assert started_class(COMPOSE["services"][service]["command"]).name == service


def test_every_container_has_a_health_check_and_a_restart_policy():
    assert set(COMPOSE["services"]) == {"rabbitmq", "postgres", "mailpit", *SERVICES}
    for name, service in COMPOSE["services"].items():
        test = service["healthcheck"]["test"]
        assert test[0] in ("CMD", "CMD-SHELL") and not service["healthcheck"].get("disable"), name
        assert service["restart"] == "unless-stopped", name


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_is_healthy_when_the_broker_says_its_queues_are_consumed(service):
    healthcheck = COMPOSE["services"][service]["healthcheck"]

    assert healthcheck["test"] == ["CMD", "python", "-m", "shared.platform.healthcheck", service]
    assert healthcheck["start_period"] and healthcheck["timeout"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_serves_health_and_metrics_on_a_port_exposed_to_the_compose_network_only(service):
    port = http_port(environment(service))

    assert port and [str(port)] == COMPOSE["services"][service]["expose"]
    assert "ports" not in COMPOSE["services"][service]


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_starts_once_broker_and_database_are_healthy_and_scales(service):
    definition = COMPOSE["services"][service]
    needs = {"rabbitmq", "postgres"} | ({"mailpit"} if service == "notify" else set())

    assert {name: dep["condition"] for name, dep in definition["depends_on"].items()} == \
        dict.fromkeys(needs, "service_healthy")
    assert "container_name" not in definition and "ports" not in definition  # --scale SERVICE=N
    assert definition["stop_grace_period"] and definition["build"]["dockerfile"] == "deploy/Dockerfile"


def test_notify_mails_through_mailpit_whose_web_ui_is_published():
    env = environment("notify")

    assert (env["SMTP_HOST"], env["SMTP_PORT"]) == ("mailpit", "1025")
    assert any(port.endswith(":8025") for port in COMPOSE["services"]["mailpit"]["ports"])


def test_every_compose_image_has_a_tag_other_than_latest():
    for name, service in COMPOSE["services"].items():
        image = service["image"]
        assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), name


# --- the image ---

GLOBAL_ARGS, STAGES = dockerfile_stages()


def test_the_image_is_built_in_stages_on_a_pinned_python_3_11_base():
    assert len(STAGES) >= 2
    for stage in STAGES:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", stage.base), stage.base


def test_the_image_runs_as_a_user_that_is_not_root():
    users = STAGES[-1].all("USER")

    assert users and users[-1].split(":")[0] not in ("root", "0")


def test_the_image_installs_only_runtime_dependencies():
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    runs = " ".join(run for stage in STAGES for run in stage.all("RUN"))

    assert "[dev]" not in text and "pip install -e" not in runs and "--editable" not in runs
    final = " ".join(STAGES[-1].all("RUN"))
    assert not re.search(r"gcc|build-essential|-dev\b|poppler", final)
    # the one system install is what review's documents need at run time, without recommends, lists removed
    installs = re.findall(r"apt-get install -y --no-install-recommends\s+([^&]+)", final)
    assert [packages.split() for packages in installs] == [
        ["libreoffice-writer-nogui", "fonts-liberation2", "fonts-croscore"]]
    assert final.count("apt-get install") == 1 and "rm -rf /var/lib/apt/lists/*" in final
    extract = re.search(r'python -c "([^"]+)"', runs)[1]  # the step that lists what gets installed
    listed = subprocess.run([sys.executable, "-c", extract], cwd=ROOT, capture_output=True, text=True, check=True)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert listed.stdout.split() == project["dependencies"]


def test_the_image_copies_only_what_the_build_context_keeps():
    ignore = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    copied = {word for stage in STAGES for copy in stage.all("COPY") if "--from" not in copy
              for word in copy.split()[:-1]}

    assert ignore[0] == "*" and copied <= {line[1:] for line in ignore if line.startswith("!")}


def test_the_images_command_is_overridable_and_its_environment_quiet_and_bytecode_free():
    final = STAGES[-1]
    env = " ".join(final.all("ENV"))

    assert not final.all("ENTRYPOINT") and exec_form(final.all("CMD")[-1])
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "EVENTLET_TESTS=1" in env
    assert 'PYTHONWARNINGS="ignore:pkg_resources is deprecated:UserWarning"' in env


# --- Kubernetes ---

DOCUMENTS = k8s_documents()
DEPLOYMENTS = {doc["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]: doc
               for _, doc in DOCUMENTS if doc["kind"] == "Deployment"}


def containers(deployment: dict) -> list[dict]:
    spec = deployment["spec"]["template"]["spec"]
    return spec["containers"] + spec.get("initContainers", [])


def test_every_manifest_parses_and_the_kustomization_lists_every_other_file():
    kustomization = next(doc for path, doc in DOCUMENTS if path.name == "kustomization.yaml")
    files = {path.name for path, _ in DOCUMENTS} - {"kustomization.yaml"}

    assert all(doc.get("apiVersion") and doc.get("kind") for _, doc in DOCUMENTS)
    assert set(kustomization["resources"]) == files
    assert set(DEPLOYMENTS) == set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_each_deployment_probes_its_services_health_endpoints_on_the_port_it_serves(service):
    port = http_port(next(doc for _, doc in DOCUMENTS if doc["kind"] == "ConfigMap")["data"])
    container = DEPLOYMENTS[service]["spec"]["template"]["spec"]["containers"][0]
    named = {entry["name"]: entry["containerPort"] for entry in container["ports"]}

    assert port and named == {"http": port}
    for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        assert container[probe]["httpGet"] == {"path": path, "port": "http"}, probe
        assert container[probe]["timeoutSeconds"] >= 5, probe
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300  # five minutes for migrations


@pytest.mark.parametrize("service", SERVICES)
def test_each_deployments_pods_ask_prometheus_to_scrape_their_metrics_port(service):
    annotations = DEPLOYMENTS[service]["spec"]["template"]["metadata"]["annotations"]
    port = DEPLOYMENTS[service]["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]

    assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": str(port),
                           "prometheus.io/path": "/metrics"}


@pytest.mark.parametrize("service", SERVICES)
def test_every_container_requests_and_is_limited_in_cpu_and_memory(service):
    for container in containers(DEPLOYMENTS[service]):
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][bound]), (container["name"], bound)


@pytest.mark.parametrize("service", SERVICES)
def test_each_deployment_has_a_disruption_budget_selecting_its_pods(service):
    deployment = DEPLOYMENTS[service]
    selector = deployment["spec"]["selector"]["matchLabels"]
    budgets = [doc for _, doc in DOCUMENTS if doc["kind"] == "PodDisruptionBudget"
               and doc["spec"]["selector"]["matchLabels"] == selector]

    assert len(budgets) == 1 and selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert budgets[0]["spec"]["minAvailable"] < deployment["spec"]["replicas"]  # a drain can proceed


@pytest.mark.parametrize("service", SERVICES)
def test_each_deployment_runs_its_service_class_as_the_images_user_without_privileges(service):
    pod = DEPLOYMENTS[service]["spec"]["template"]["spec"]
    image_user = STAGES[-1].all("USER")[-1].split(":")[0]

    assert pod["securityContext"]["runAsNonRoot"] and str(pod["securityContext"]["runAsUser"]) == image_user
    for container in containers(DEPLOYMENTS[service]):
        assert started_class(container["command"]).name == service
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_no_manifest_uses_a_latest_or_untagged_image():
    for service, deployment in DEPLOYMENTS.items():
        for container in containers(deployment):
            image = container["image"]
            assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), service


@pytest.mark.parametrize("service", SERVICES)
def test_secrets_reach_the_pods_only_through_secret_key_refs(service):
    assert not [doc for _, doc in DOCUMENTS if doc["kind"] == "Secret"]
    config = next(doc for _, doc in DOCUMENTS if doc["kind"] == "ConfigMap")
    assert not [key for key in config["data"] if SECRET_NAMES.match(key)]
    env = dict(config["data"])
    for container in containers(DEPLOYMENTS[service]):
        for variable in container["env"]:
            if SECRET_NAMES.match(variable["name"]):
                assert "value" not in variable and variable["valueFrom"]["secretKeyRef"]["name"], variable["name"]
            if variable.get("valueFrom", {}).get("secretKeyRef", {}).get("optional"):
                continue
            env[variable["name"]] = variable.get("value") or placeholder(variable["name"])
    settings = load_settings(env)
    assert settings.profile == "production" and settings.db_url(service).startswith("postgresql")


def placeholder(name: str) -> str:
    """A well-formed value for a secret the test cannot see."""
    if name == "AMQP_URI":
        return "amqp://user:password@rabbitmq:5672/tdkt"
    if name.endswith("_DB_URL"):
        return "postgresql+psycopg2://user:password@postgres:5432/db"
    return "x" * 24


def test_the_env_example_reader_reads_what_compose_reads(tmp_path):
    path = tmp_path / ".env"
    path.write_text("# comment\n\nA=1\nB=with=equals\n", encoding="utf-8")

    assert read_env_file(path) == {"A": "1", "B": "with=equals"}
    assert interpolate("${A}-${C:-d}-${B:+set}-$$A", read_env_file(path)) == "1-d-set-$A"
