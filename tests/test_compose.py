"""The production stack's files: docker-compose.yml is valid for docker-compose 1.29, the
Dockerfile is hadolint-clean, and every command compose would run is one these tests run.

No Docker engine here: each command runs on this machine, from the same installed package the
image installs. docker-compose missing is a failure, not a skip (CI installs it)."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator import redis_embedded
from orchestrator.services import health

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EXTERNAL_IMAGES = {"redis", "postgres"}  # their commands are the images' own


def docker_compose() -> str:
    found = shutil.which("docker-compose")
    assert found, "docker-compose is not installed (apt-get install docker-compose)"
    return found


def compose(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [docker_compose(), "-f", "docker-compose.yml", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "POSTGRES_PASSWORD"},
        check=False,
    )


@pytest.fixture
def deployed(tmp_path: Path) -> Path:
    """The compose file next to a .env made the documented way: cp .env.example .env."""
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    return tmp_path


@pytest.fixture
def resolved(deployed: Path) -> dict[str, Any]:
    result = compose(deployed, "--profile", "demo", "config")
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def test_compose_file_is_valid(deployed: Path) -> None:
    result = compose(deployed, "config", "-q")
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_the_env_file(deployed: Path) -> None:
    (deployed / ".env").unlink()
    result = compose(deployed, "config", "-q")
    assert result.returncode != 0
    assert "cp .env.example .env" in result.stderr


def test_the_stack_has_its_parts(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    assert set(services) == {
        "redis", "postgres", "migrate", "api", "worker", "scheduler", "flower", "simulators"
    }  # fmt: skip
    assert "--appendonly" in services["redis"]["command"]
    worker = services["worker"]
    assert "container_name" not in worker and "ports" not in worker  # --scale worker=N
    for name in ("api", "worker", "scheduler"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
        assert "healthcheck" in services[name]
    assert "--proxy-headers" in services["api"]["command"]
    assert services["simulators"]["profiles"] == ["demo"]
    assert {"sanshen-data", "redis-data", "postgres-data"} <= set(resolved["volumes"])


def test_dockerfile_is_hadolint_clean() -> None:
    result = subprocess.run(
        [str(BIN / "hadolint"), "-c", str(ROOT / ".hadolint.yaml"), str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_installs_what_compose_runs() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "FROM python:3.11-slim" in text and "fonts-wqy-zenhei" in text
    assert '".[flower]"' in text and "[test]" not in text
    assert "\nUSER " in text and "USER root" not in text


def test_pyproject_declares_the_flower_extra_the_image_installs() -> None:
    extras = _pyproject()["project"]["optional-dependencies"]
    assert any(dep.startswith("flower") for dep in extras.get("flower", [])), (
        "pyproject.toml needs the `flower` extra the image installs"
    )


def _pyproject() -> dict[str, Any]:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


# --- every command compose runs -------------------------------------------------------------


def commands(config: dict[str, Any]) -> Iterator[tuple[str, list[str]]]:
    """(where, argv) for each service's command and health check, images' own ones aside."""
    for name, service in config["services"].items():
        if name in EXTERNAL_IMAGES:
            continue
        command = service.get("command")
        assert isinstance(command, list), f"{name}: command should be a list"
        yield f"{name}", command
        test = service.get("healthcheck", {}).get("test")
        if test is None:
            continue
        if test[0] == "CMD-SHELL":
            shell = test[1].replace("$$", "$").split(">")[0]
            yield f"{name} healthcheck", shlex.split(shell)
        else:
            yield f"{name} healthcheck", test[1:]


def run(argv: list[str], env: dict[str, str], timeout: float = 60) -> str:
    program = argv[0] if argv[0] == sys.executable else str(BIN / argv[0])
    result = subprocess.run(
        [program, *argv[1:]], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
    return result.stdout


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SANSHEN_")}
    return inherited | {
        "SANSHEN_DATA_DIR": str(tmp_path / "data"),
        "SANSHEN_REDIS_URL": "redis://127.0.0.1:1/0",  # never dialled by --help
        "HOSTNAME": "worker-1",
    }


def test_every_command_compose_runs_is_exercised(
    resolved: dict[str, Any], env: dict[str, str], tmp_path: Path
) -> None:
    checked: list[str] = []
    helps: list[list[str]] = []
    for where, argv in commands(resolved):
        argv = [a.replace("$HOSTNAME", env["HOSTNAME"]) for a in argv]
        if argv[0] in ("sanshen", "celery", "uvicorn"):
            # every option compose passes must parse; the program and its imports must load
            helps.append([*argv, "--help"])
        elif argv[:3] == ["python", "-m", "orchestrator.devstack"]:
            scheduler_health_check(argv, env, tmp_path)
        elif argv[:2] == ["python", "-c"]:
            api_health_check(argv[2], resolved["services"]["api"]["command"], env)
        else:
            raise AssertionError(f"{where}: no test exercises {argv}")
        checked.append(where)
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda argv: run(argv, env), helps))
    assert {"migrate", "api", "worker", "scheduler", "flower", "simulators"} <= set(checked)
    assert {"api healthcheck", "worker healthcheck", "scheduler healthcheck"} <= set(checked)


@pytest.mark.empty_database
def test_the_migration_service_upgrades_a_database(env: dict[str, str]) -> None:
    from orchestrator.db import Database
    from orchestrator.migrate import current_revision, head_revision

    run(["sanshen", "db", "upgrade"], env)
    # DATABASE_URL on the PostgreSQL suite (an empty database of this test's own), else SQLite.
    url = env.get("DATABASE_URL") or f"sqlite:///{Path(env['SANSHEN_DATA_DIR']) / 'sanshen.db'}"
    db = Database(url)
    try:
        assert current_revision(db) == head_revision(db) is not None
    finally:
        db.dispose()


def scheduler_health_check(argv: list[str], env: dict[str, str], tmp_path: Path) -> None:
    """Unhealthy until the scheduler stamps a round, healthy right after one."""
    folder = tmp_path / "r"
    url = redis_embedded.ensure_running(folder)
    try:
        probe = env | {"SANSHEN_REDIS_URL": url}
        command = [sys.executable, *argv[1:]]
        before = subprocess.run(command, env=probe, capture_output=True, text=True, check=False)
        assert before.returncode == 1 and "调度循环从未运行" in before.stderr, before.stderr
        health.mark_round(redis_embedded.client(url), "dispatch", datetime.now(UTC))
        run(command, probe)
    finally:
        redis_embedded.stop(folder)


def api_health_check(code: str, api_command: list[str], env: dict[str, str]) -> None:
    """The API as compose starts it (on a free port), asked the way its health check asks."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [a.replace("0.0.0.0", "127.0.0.1").replace("8000", str(port)) for a in api_command]
    server = subprocess.Popen(
        [str(BIN / argv[0]), *argv[1:]],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        probe = [sys.executable, "-c", code.replace("8000", str(port))]
        deadline = time.monotonic() + 60
        while subprocess.run(probe, capture_output=True, check=False).returncode != 0:
            assert server.poll() is None, "the API exited"
            assert time.monotonic() < deadline, "the API never answered its health check"
            time.sleep(0.3)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
