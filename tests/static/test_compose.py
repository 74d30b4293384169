"""docker-compose.yml is checked statically: no Docker engine runs on our machines."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.settings import SEARCH_ATTRIBUTES, environment_variables

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
# Read by temporalio.envconfig in our processes (client certificates, profiles).
ENVCONFIG_PREFIXES = ("TEMPORAL_TLS_", "TEMPORAL_PROFILE", "TEMPORAL_CONFIG_FILE", "TEMPORAL_GRPC_META_")


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    found: dict[str, dict[str, Any]] = document["services"]
    return found


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def test_every_service_has_a_pinned_image_or_an_existing_build(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        if "build" in service:
            context = ROOT / str(service["build"])
            assert (context / "Dockerfile").is_file(), name
        else:
            image = str(service["image"])
            assert re.fullmatch(r"[a-z0-9./-]+:[0-9][\w.]*", image), f"{name}: unpinned image {image}"


def test_dependencies_exist_and_conditions_are_satisfiable(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            condition = rule["condition"]
            assert condition in {"service_healthy", "service_completed_successfully"}
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"


def test_mounted_files_exist(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_tenure_services_only_set_variables_the_settings_know(
    services: dict[str, dict[str, Any]],
) -> None:
    known = set(environment_variables().values())
    tenure = {name: s for name, s in services.items() if "build" in s}
    assert {"worker", "api", "migrate"} <= set(tenure)
    for name, service in tenure.items():
        for variable in _environment(service):
            if variable.startswith(ENVCONFIG_PREFIXES):
                continue
            assert variable in known, f"{name} sets {variable}, which Settings does not read"


def test_bootstrap_registers_exactly_the_search_attributes_of_the_spec() -> None:
    script = (ROOT / "deploy/temporal/bootstrap.sh").read_text()
    pairs = dict(re.findall(r"--name (\w+) --type (\w+)", script))
    assert pairs == SEARCH_ATTRIBUTES
