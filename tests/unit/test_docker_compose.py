"""docker-compose.yml is for users; Docker does not run here, so it is checked as a file and with
``docker-compose config`` (Debian's package, which validates without an engine)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
SECRETS = {
    "AIRFLOW_DB_PASSWORD": "x",
    "WAREHOUSE_OWNER_PASSWORD": "w",
    "WAREHOUSE_PASSWORD": "y",
    "ACORN_PSEUDONYM_KEY": "z",
}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


def test_it_has_the_shape_of_the_official_airflow_3_stack_plus_the_warehouse(compose):
    assert set(compose["services"]) == {
        "postgres",
        "warehouse",
        "redis",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-worker",
        "airflow-triggerer",
        "airflow-init",
    }
    commands = {name: svc.get("command") for name, svc in compose["services"].items()}
    assert commands["airflow-apiserver"] == "api-server"
    assert commands["airflow-dag-processor"] == "dag-processor"
    assert commands["airflow-worker"] == "celery worker"
    env = compose["x-airflow-common"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    # no AIRFLOW_CONN_ variable to silently win over Admin > Connections: init creates the connection, for
    # the least-privilege login; only init knows the owner, to migrate
    assert not any(k.startswith("AIRFLOW_CONN_") for k in env)
    init = compose["services"]["airflow-init"]
    script = init["command"][-1]
    assert 'acorn.warehouse.migrate "$${ACORN_WAREHOUSE_OWNER_URI}"' in script
    assert 'acorn.warehouse.roles "$${ACORN_WAREHOUSE_OWNER_URI}" acorn_pipeline loader' in script
    assert "airflow connections add acorn_warehouse" in script
    assert "postgresql://acorn_pipeline:" in script
    assert init["environment"]["ACORN_WAREHOUSE_OWNER_URI"].startswith("postgresql://acorn_owner:")
    for name, svc in compose["services"].items():
        assert "ACORN_WAREHOUSE_OWNER_URI" not in (svc.get("environment") or {}) or name == "airflow-init"
    assert "./dags:/opt/acorn/dags" in compose["x-airflow-common"]["volumes"]


def test_no_secret_is_written_in_the_file():
    text = COMPOSE.read_text()
    for line in text.splitlines():
        if "PASSWORD" in line and ":" in line and not line.strip().startswith("#"):
            assert "${" in line, line


@pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose (Debian package) not installed"
)
def test_docker_compose_config_accepts_it():
    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        env={**os.environ, **SECRETS},
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose (Debian package) not installed"
)
def test_docker_compose_refuses_to_start_without_the_secrets():
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True, env=env
    )
    assert result.returncode != 0
    assert "set AIRFLOW_DB_PASSWORD" in result.stderr
