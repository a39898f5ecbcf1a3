import shutil

import pytest


@pytest.fixture(scope="session", autouse=True)
def podman_installed():
    if shutil.which("podman") is None:
        pytest.fail("podman is missing: `make container-test` installs it (deploy/containers/setup.sh, as root)")
