"""The served product as `make run` starts it: embedded PostgreSQL in a fresh data directory, Celery's filesystem
broker (no Redis), a real worker process and gunicorn, all from `manage.py serve --demo`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest

from tests.integration.conftest import ROOT

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(url: str, *, token: str, data: bytes | None = None, content_type: str = "") -> dict:
    request = urllib.request.Request(url, data=data, headers={"Authorization": f"Token {token}"})
    if content_type:
        request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def _multipart(filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _stop_embedded_postgres(data_dir) -> None:
    env = {**os.environ, "CLEANROOM_DATA_DIR": str(data_dir)}
    subprocess.run([sys.executable, "-m", "cleanroom.embedded", "stop"], cwd=ROOT, env=env, timeout=60, check=False)


def test_serve_demo_runs_web_and_worker_on_embedded_defaults(tmp_path):
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CLEANROOM_DB_NAME"}
    }
    env.update(
        CLEANROOM_DATA_DIR=str(tmp_path),
        CLEANROOM_LLM_MODEL=os.environ.get("CLEANROOM_TEST_LLM_MODEL", "smollm2-135m"),
        CLEANROOM_WARMUP="0",
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--demo", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180
        token = ""
        while time.monotonic() < deadline and server.poll() is None:
            text = log_path.read_text()
            if not token and "API token:" in text:
                token = text.split("API token:")[1].split()[0]
            if token and "ready." in text and "Listening at" in text:
                break
            time.sleep(0.5)
        assert server.poll() is None and token, log_path.read_text()[-3000:]
        assert "Login:     admin / " in log_path.read_text()

        base = f"http://127.0.0.1:{port}"
        body, content_type = _multipart("rota.txt", b"The night shift starts at 22:00 and ends at 06:00.")
        document = _request(f"{base}/api/v1/documents", token=token, data=body, content_type=content_type)
        assert document["status"] == "queued"
        while time.monotonic() < deadline:
            document = _request(f"{base}/api/v1/documents/{document['id']}", token=token)
            if document["status"] in ("indexed", "failed"):
                break
            time.sleep(0.5)
        assert document["status"] == "indexed", (document, log_path.read_text()[-3000:])
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        _stop_embedded_postgres(tmp_path)
    assert server.returncode == 0, log_path.read_text()[-3000:]
