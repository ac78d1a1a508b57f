from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_file_is_valid_and_has_the_production_services():
    if shutil.which("docker-compose") is None:
        pytest.fail("docker-compose is not installed; `make test` installs it (Debian package docker-compose)")
    result = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "DJANGO_SECRET_KEY": "x",
            "POSTGRES_PASSWORD": "x",
            "CLEANROOM_VAULT_KEY": "x",
        },
    )
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert {"db", "redis", "web", "worker"} <= set(config["services"])
    assert config["services"]["db"]["image"].startswith("pgvector/pgvector")
    assert "gunicorn" in " ".join(config["services"]["web"]["command"])
    assert "celery" in " ".join(config["services"]["worker"]["command"])
    # The answer model is a service of its own: web and workers reach it over the OpenAI-compatible API.
    assert config["services"]["model"]["image"].startswith("ghcr.io/ggml-org/llama.cpp:server")
    for name in ("web", "worker"):
        environment = config["services"][name]["environment"]
        assert environment["CLEANROOM_LLM_URL"] == "http://model:8080/v1"
        assert environment["CLEANROOM_LLM_URL_MODEL"] == environment["CLEANROOM_LLM_MODEL"]


def test_dockerfile_installs_cpu_torch_before_the_project():
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11" in text
    assert text.index("torch==2.13.0") < text.index("pip install --no-cache-dir -c constraints.txt .")
    # The image installs the versions the tests passed with, which constraints.txt holds.
    constraints = (ROOT / "constraints.txt").read_text()
    assert "COPY pyproject.toml README.md constraints.txt" in text
    assert "torch==2.13.0\n" in constraints and "llama_cpp_python==" in constraints
