from __future__ import annotations

import os
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from django.conf import settings

from cleanroom.celery import worker_command

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _database_env(test_db_name: str) -> dict[str, str]:
    """Point the worker at the test database, however the suite reaches PostgreSQL."""
    if settings.EMBEDDED_POSTGRES:
        return {"CLEANROOM_DB_NAME": test_db_name}
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(settings.DATABASE_URL)
    return {"DATABASE_URL": urlunsplit(parts._replace(path="/" + test_db_name))}


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, tmp_path_factory) -> WorkerProcess:
    """A real Celery worker process, consuming from real Redis, writing to the test database."""
    from django.db import connection

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        broker.ping()
    except redis.ConnectionError:
        pytest.fail(f"Redis is not reachable at {settings.CELERY_BROKER_URL}; `make test` starts one")
    broker.flushdb()  # a queue of this suite's own; drop leftovers of earlier runs

    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {
        **os.environ,
        **_database_env(connection.settings_dict["NAME"]),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "C_FORCE_ROOT": "1",
        "CLEANROOM_LOG_LEVEL": "DEBUG",
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            worker_command(loglevel="DEBUG", pool="solo", hostname=f"test-{uuid.uuid4().hex[:8]}@%h", alone=True),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    worker = WorkerProcess(process, log_path)
    deadline = time.monotonic() + 120
    while "ready." not in worker.log():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("The Celery worker did not start:\n" + worker.log()[-3000:])
        time.sleep(0.5)
    yield worker
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
