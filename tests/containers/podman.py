"""podman for the container tests: build deploy/'s images (deploy/containers/build.sh), run one with
deploy/compose.yml's hardening, and read what happened to it."""
from __future__ import annotations

import json
import subprocess
import time

from tests.deploy_files import load_compose
from tests.harness import ROOT

IMAGE = "localhost/tdkt:0.1.0"
RAW, COMPOSE, _ = load_compose()


def podman(*args: str, check: bool = True, timeout: float = 120, env=None) -> subprocess.CompletedProcess:
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:2])} ... exited {result.returncode}: {result.stderr[-2000:]}")
    return result


def build(what: str = "tdkt") -> None:
    """deploy/containers/build.sh WHAT, its output shown only when it fails."""
    result = subprocess.run([str(ROOT / "deploy/containers/build.sh"), what], cwd=ROOT, capture_output=True,
                            text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def image_size(image: str = IMAGE) -> int:
    return int(podman("image", "inspect", "--format", "{{.Size}}", image).stdout)


def hardening(service: str) -> list[str]:
    """``podman run`` options for what compose.yml asks of ``service``'s container: a read-only root,
    the tmpfs mounts, the dropped capabilities and security options, an init as PID 1."""
    definition = COMPOSE["services"][service]
    options = ["--read-only"] if definition.get("read_only") else []
    options += [f"--tmpfs={path}" for path in definition.get("tmpfs", [])]
    options += [f"--cap-drop={cap}" for cap in definition.get("cap_drop", [])]
    options += [f"--security-opt={opt}" for opt in definition.get("security_opt", [])]
    options += ["--init"] if definition.get("init") else []
    if "user" in definition:
        options.append(f"--user={definition['user']}")
    return options


def grace_seconds(service: str) -> float:
    value = COMPOSE["services"][service]["stop_grace_period"]
    assert value.endswith("s"), value
    return float(value[:-1])


class Container:
    """One service of the image, on the host's network, its environment handed over by name (``--env
    NAME`` takes the value from podman's own environment, so no secret shows on podman's command line)."""

    def __init__(self, name: str, service: str, command: list[str], env: dict[str, str]):
        self.name, self.service, self.command, self.env = name, service, command, env
        self.started = None

    def start(self):
        import os

        podman("rm", "--force", "--ignore", self.name)
        self.started = time.monotonic()
        podman("run", "--detach", "--name", self.name, "--network=host", *hardening(self.service),
               *[f"--env={key}" for key in self.env], IMAGE, *self.command, env={**os.environ, **self.env})

    def inspect(self) -> dict:
        return json.loads(podman("inspect", self.name).stdout)[0]

    def running(self) -> bool:
        return self.inspect()["State"]["Running"]

    def logs(self) -> str:
        result = podman("logs", self.name, check=False)
        return (result.stdout + result.stderr)[-6000:]

    def exec(self, *command: str) -> str:
        return podman("exec", self.name, *command, timeout=60).stdout

    def processes(self) -> list[list[bytes]]:
        """The argument vectors of every process in the container, read from the host's /proc."""
        from pathlib import Path

        pids, found = [self.inspect()["State"]["Pid"]], []
        while pids:
            pid = pids.pop()
            try:
                found.append(Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"))
                for task in Path(f"/proc/{pid}/task").iterdir():
                    pids += [int(child) for child in (task / "children").read_text().split()]
            except FileNotFoundError:
                continue
        return found

    def stop(self, grace: float) -> tuple[int, float]:
        """``podman stop`` (SIGTERM, SIGKILL after ``grace`` seconds): (exit code, seconds it took)."""
        began = time.monotonic()
        podman("stop", f"--time={int(grace)}", self.name, timeout=grace + 60)
        took = time.monotonic() - began
        return self.inspect()["State"]["ExitCode"], took

    def remove(self):
        podman("rm", "--force", "--ignore", self.name, check=False)
