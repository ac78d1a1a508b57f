"""`manage.py serve` under faults, as `make run` starts it (embedded PostgreSQL, filesystem broker, warm-up on):
a killed worker main process is started again while the web server stays up, and Ctrl-C in the middle of a batch
releases it (queued again, not stranded), so that the next `serve` indexes it exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT
from tests.integration.test_serve import _free_port, _multipart, _request, _stop_embedded_postgres

pytestmark = pytest.mark.integration


def _prose() -> bytes:
    """About 200 KB: Presidio needs many seconds for it, a real window to stop in."""
    return "\n\n".join(
        f"Section {i}. The maintenance team inspects pump station {i % 17} every {i % 9 + 2} weeks and records "
        f"pressure, vibration and temperature readings in the log. Deviations above {i % 5 + 3} percent are "
        f"reported to the shift supervisor Meera Krishnan within one hour."
        for i in range(900)
    ).encode()


def _serve(data_dir: Path, port: int, log_path: Path) -> subprocess.Popen:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CLEANROOM_DB_NAME"}
    }
    env.update(
        CLEANROOM_DATA_DIR=str(data_dir),
        CLEANROOM_LLM_MODEL=os.environ.get("CLEANROOM_TEST_LLM_MODEL", "smollm2-135m"),
        CLEANROOM_WARMUP="1",
        CLEANROOM_STOP_GRACE_SECONDS="3",
        PYTHONUNBUFFERED="1",
    )
    with log_path.open("a") as log:
        return subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--demo", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _ready(server: subprocess.Popen, log_path: Path, since: int, timeout: float = 240) -> str:
    """Wait for this start's worker and web server; return its API token."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        text = log_path.read_text()[since:]
        if "API token:" in text and text.count("ready.") >= 2 and "Listening at" in text:
            return text.split("API token:")[1].split()[0]
        time.sleep(0.5)
    pytest.fail("serve did not start:\n" + log_path.read_text()[-4000:])


def _children(pid: int) -> dict[int, str]:
    found = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
    return found


def _document(base: str, token: str, document_id: str) -> dict:
    return _request(f"{base}/api/v1/documents/{document_id}", token=token)


def _wait_status(base: str, token: str, document_id: str, statuses: set[str], timeout: float, log: Path) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        document = _document(base, token, document_id)
        if document["status"] in statuses:
            return document
        time.sleep(0.3)
    pytest.fail(f"{document_id} never reached {statuses}: {document}\n{log.read_text()[-4000:]}")


def _stop(server: subprocess.Popen) -> float:
    began = time.monotonic()
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=120)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=30)
    return time.monotonic() - began


def test_worker_killed_restarts_and_ctrl_c_releases_the_batch_for_the_next_start(tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    server = _serve(tmp_path, port, log_path)
    try:
        token = _ready(server, log_path, 0)

        # The worker's main process dies: the web server keeps answering and serve starts a new worker.
        (worker_pid,) = [pid for pid, cmd in _children(server.pid).items() if "cleanroom@" in cmd]
        os.kill(worker_pid, signal.SIGKILL)
        body, content_type = _multipart("rota.txt", b"The night shift starts at 22:00 and ends at 06:00.")
        small = _request(f"{base}/api/v1/documents", token=token, data=body, content_type=content_type)
        assert small["status"] == "queued"
        _wait_status(base, token, small["id"], {"indexed"}, 180, log_path)
        assert "The worker exited" in log_path.read_text()
        assert server.poll() is None

        # Ctrl-C while a batch is being redacted: it is released, not left in a step for the sweep.
        body, content_type = _multipart("maintenance.txt", _prose())
        big = _request(f"{base}/api/v1/documents", token=token, data=body, content_type=content_type)
        _wait_status(base, token, big["id"], {"redacting", "embedding"}, 180, log_path)
        took = _stop(server)
    finally:
        if server.poll() is None:
            _stop(server)
    assert server.returncode == 0, log_path.read_text()[-4000:]
    assert took < 60, took
    assert "releasing it" in log_path.read_text()

    since = len(log_path.read_text())
    server = _serve(tmp_path, port, log_path)
    try:
        token = _ready(server, log_path, since)
        document = _wait_status(base, token, big["id"], {"indexed", "failed"}, 300, log_path)
    finally:
        _stop(server)
        _stop_embedded_postgres(tmp_path)
    assert document["status"] == "indexed", document
    statuses = [step["status"] for step in document["steps"]]
    assert statuses.count("indexed") == 1
    # Released on the way down (queued again, by the same first attempt), then claimed anew after the restart.
    released = statuses.index("queued", 1)
    assert statuses[released - 1] in ("redacting", "embedding")
    assert document["steps"][released]["attempt"] == 1 and document["steps"][-1]["attempt"] == 2
    assert "Re-sent 1 queued document(s)" in log_path.read_text()[since:]
