"""A dependency that is down answers a JSON 503 with a machine-readable code within seconds, never Django's HTML
500 page or a hang; uploads accepted while the broker is down are indexed once it is back. Each case runs a real
web server (gunicorn, as in production) against a really broken dependency: a closed port, or a port that accepts
connections and never answers (a hung server)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import OperationalError, connection, connections

from cleanroom.pgbackend.base import DatabaseWrapper
from ingestion.models import Chunk, Document
from ingestion.sweep import documents_requeue_stuck
from tests.conftest import make_actor
from tests.integration.conftest import ROOT, _database_env, celery_worker_process  # noqa: F401 - the fixture

SECRETS = {"DJANGO_SECRET_KEY": "s" * 50, "CLEANROOM_VAULT_KEY": "v" * 48}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _silent_server() -> Iterator[int]:
    """A port whose kernel completes the TCP handshake and then nothing ever answers: a hung database."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


@contextmanager
def _web(env_overrides: dict[str, str], log_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "CLEANROOM_DB_NAME"}}
    env.update({"CLEANROOM_WARMUP": "0", "PYTHONUNBUFFERED": "1", **env_overrides})
    command = [sys.executable, "-m", "gunicorn", "cleanroom.wsgi:application", "--config"]
    command += ["python:cleanroom.gunicorn_conf", "--bind", f"127.0.0.1:{port}", "--threads", "2"]
    with log_path.open("a") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while "Listening at" not in log_path.read_text():
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("gunicorn did not start:\n" + log_path.read_text()[-3000:])
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def _call(url: str, *, token: str = "crk_not-a-real-key", data: bytes | None = None, content_type: str = ""):  # noqa: ANN202
    """(status, content type, parsed JSON or raw text, seconds)."""
    request = urllib.request.Request(url, data=data, headers={"Authorization": f"Token {token}"})
    if content_type:
        request.add_header("Content-Type", content_type)
    began = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback only
            status, headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        status, headers, raw = exc.code, exc.headers, exc.read()
    elapsed = time.monotonic() - began
    kind = headers.get("Content-Type", "")
    return status, kind, json.loads(raw) if kind.startswith("application/json") else raw.decode(), elapsed


def _multipart(filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n\r\n'
    return head.encode() + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _assert_database_unavailable(result, limit: float) -> None:  # noqa: ANN001
    status, kind, body, elapsed = result
    assert status == 503, (status, body)
    assert kind.startswith("application/json")
    assert body["error"]["code"] == "database_unavailable" and body["error"]["message"]
    assert elapsed < limit, elapsed


def test_database_on_a_closed_port_answers_json_503_at_once(tmp_path):
    closed = _free_port()
    env = {**SECRETS, "CLEANROOM_DATA_DIR": str(tmp_path), "DATABASE_URL": f"postgres://cr@127.0.0.1:{closed}/cr"}
    with _web(env, tmp_path / "web.log") as base:
        assert _call(f"{base}/api/v1/schema")[0] == 200  # the first request imports the URLconf: not timed
        _assert_database_unavailable(_call(f"{base}/api/v1/documents"), 2.0)  # DRF view, token lookup fails
        _assert_database_unavailable(
            _call(f"{base}/api/v1/search", data=b'{"query": "leave"}', content_type="application/json"), 2.0
        )
        _assert_database_unavailable(_call(f"{base}/healthz"), 2.0)  # a plain Django view
    assert "Internal Server Error" not in (tmp_path / "web.log").read_text()


def test_hung_database_answers_json_503_within_the_connect_timeout(tmp_path):
    with _silent_server() as port:
        env = {
            **SECRETS,
            "CLEANROOM_DATA_DIR": str(tmp_path),
            "DATABASE_URL": f"postgres://cr@127.0.0.1:{port}/cr",
            "CLEANROOM_DB_CONNECT_TIMEOUT": "2",
        }
        with _web(env, tmp_path / "web.log") as base:
            assert _call(f"{base}/api/v1/schema")[0] == 200
            # Without a connect timeout this waits as long as the server stays silent.
            _assert_database_unavailable(_call(f"{base}/api/v1/documents"), 4.0)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker_process")
def test_upload_while_broker_down_is_accepted_then_indexed_once_and_missing_model_is_503(tmp_path):
    alice = make_actor("plant-d", "alice")
    closed = _free_port()
    env = {
        **_database_env(connection.settings_dict["NAME"]),
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{closed}/0",
        "CLEANROOM_LLM_MODEL": str(tmp_path / "no-such-model.gguf"),
    }
    with _web(env, tmp_path / "web.log") as base:
        body, content_type = _multipart("leave.txt", b"Annual leave is 24 days a year for every employee.")
        status, _, document, elapsed = _call(
            f"{base}/api/v1/documents", token=alice.key, data=body, content_type=content_type
        )
        assert status == 202 and document["status"] == "queued", document
        assert elapsed < 5, elapsed  # the broker's connect timeout and retries, not a hang
        assert "could not enqueue document" in (tmp_path / "web.log").read_text()

        # The broker is back (the suite's Redis): the sweep sends the task, the worker indexes it once.
        assert documents_requeue_stuck(queued_older_than=timedelta(0)).reenqueued == [document["id"]]
        deadline = time.monotonic() + 180
        while Document.objects.get(pk=document["id"]).status not in ("indexed", "failed"):
            assert time.monotonic() < deadline, "the worker did not index the document"
            time.sleep(0.3)
        indexed = Document.objects.get(pk=document["id"])
        assert indexed.status == "indexed" and indexed.attempts == 1
        assert Chunk.objects.filter(document=indexed).count() == indexed.chunk_count > 0

        # The answer model is missing: a question is answered with a 503, quickly (once this web process has
        # loaded the embedder and Presidio, which a search does and the warm-up does in production).
        status, _, found, _ = _call(
            f"{base}/api/v1/search", token=alice.key, data=b'{"query": "annual leave"}', content_type="application/json"
        )
        assert status == 200 and found["results"], found
        status, kind, answer, elapsed = _call(
            f"{base}/api/v1/query",
            token=alice.key,
            data=b'{"question": "How many days of annual leave?"}',
            content_type="application/json",
        )
        assert status == 503 and kind.startswith("application/json"), answer
        assert answer["error"]["code"] == "model_unavailable" and elapsed < 5


@contextmanager
def _database_back_after(delay: float) -> Iterator[int]:
    """A TCP port that refuses connections for `delay` seconds (a database restarting), then forwards each one to
    the test database's own socket (the database back up)."""
    port = _free_port()
    target = str(Path(connection.settings_dict["HOST"]) / f".s.PGSQL.{connection.settings_dict['PORT']}")
    stop = threading.Event()

    def pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def serve() -> None:
        time.sleep(delay)
        with socket.socket() as listener:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", port))
            listener.listen(8)
            listener.settimeout(0.2)
            while not stop.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                upstream = socket.socket(socket.AF_UNIX)
                upstream.connect(target)
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=pump, args=(a, b), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(timeout=5)


@pytest.mark.django_db
def test_a_database_restarting_is_waited_for_briefly_not_answered_503(settings):
    """A restart refuses connections for about a second: a new connection tries again for
    DB_CONNECT_RETRY_SECONDS (cleanroom/pgbackend) instead of failing the request at once."""
    backend = type(connections["default"])  # the project's backend, as every alias uses it
    assert backend is DatabaseWrapper
    params = {**connection.settings_dict, "HOST": "127.0.0.1", "CONN_MAX_AGE": 0}
    settings.DB_CONNECT_RETRY_SECONDS = 2.0
    with _database_back_after(0.6) as port:
        wrapper = backend({**params, "PORT": str(port)}, alias="restarting")
        began = time.monotonic()
        wrapper.ensure_connection()
        try:
            with wrapper.cursor() as cursor:
                cursor.execute("SELECT 1")
                assert cursor.fetchone() == (1,)
        finally:
            wrapper.close()
        assert 0.5 < time.monotonic() - began < 2.0
    # Down for longer than the retry: the error comes (the middleware's 503), within the retry budget.
    settings.DB_CONNECT_RETRY_SECONDS = 0.5
    with _database_back_after(5.0) as port:
        wrapper = backend({**params, "PORT": str(port)}, alias="still-down")
        began = time.monotonic()
        with pytest.raises(OperationalError):
            wrapper.ensure_connection()
        assert time.monotonic() - began < 1.5
