"""The whole clean room on real components: Redis, a Celery worker process, PostgreSQL + pgvector, Presidio,
MiniLM and the local model."""

from __future__ import annotations

import json
import logging
import random
import subprocess
import sys
import time

import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from cleanroom.tenants.models import Tenant
from tests.conftest import make_actor
from tests.helpers.samples import aadhaar, make_docx, pan
from tests.integration.conftest import ROOT, _database_env

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RNG = random.Random(7)


def _wait_for(client, document_id: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/documents/{document_id}").json()
        if body["status"] in ("indexed", "failed"):
            return body
        time.sleep(0.5)
    pytest.fail(f"document {document_id} still {body['status']} after {timeout}s")


def _everything_stored() -> str:
    """Every row of every table the project owns or uses, as text."""
    dump = []
    for model in apps.get_models():
        for row in model._default_manager.all().values():
            dump.append(json.dumps(row, default=str))
    return "\n".join(dump)


def test_upload_redact_index_and_answer_with_citation(celery_worker_process, caplog):
    caplog.set_level(logging.DEBUG)
    alice = make_actor("hospital-a", "alice")
    aadhaar_number, pan_number = aadhaar(RNG), pan(RNG)
    personal = {
        "names": ["Kavya Iyer", "Rohan Mehta", "Sarah Johnson"],
        "emails": ["kavya.iyer@example.org", "r.mehta@example.in"],
        "phones": ["+91 98450 12345", "(415) 555-0132"],
        "aadhaar": [aadhaar_number, aadhaar_number.replace(" ", "")],
        "pan": [pan_number],
    }
    text = (
        "Discharge procedure of the cardiology ward\n\n"
        "Patients are discharged after the attending physician signs form C-12. The ward pharmacist reviews "
        "all prescriptions within 24 hours of discharge, and follow-up appointments are booked for day 14.\n\n"
        f"Case contact: Kavya Iyer (kavya.iyer@example.org, +91 98450 12345). Aadhaar {aadhaar_number}, "
        f"PAN {pan_number}. Escalations go to Dr. Rohan Mehta at r.mehta@example.in or (415) 555-0132; "
        "the night supervisor is Sarah Johnson.\n"
    )
    response = alice.client().post(
        "/api/v1/documents",
        {
            "file": SimpleUploadedFile("Kavya Iyer discharge.txt", text.encode()),
            "title": "Discharge (Kavya Iyer)",
        },
        format="multipart",
    )
    assert response.status_code == 202, response.content
    body = _wait_for(alice.client(), response.json()["id"])
    assert body["status"] == "indexed", body
    assert body["redaction_counts"]["IN_AADHAAR"] == 1
    assert body["redaction_counts"]["IN_PAN"] == 1
    assert body["redaction_counts"]["EMAIL_ADDRESS"] == 2
    assert body["redaction_counts"]["PERSON"] >= 3
    assert not any(settings.UPLOAD_DIR.glob(f"{body['id']}*")), "the raw upload must be deleted"

    answer = (
        alice.client()
        .post(
            "/api/v1/query",
            {"question": "Within how many hours does the pharmacist review prescriptions?"},
            format="json",
        )
        .json()
    )
    assert any(c["document_id"] == body["id"] for c in answer["citations"]), answer
    assert answer["answer"].strip()

    stored = _everything_stored()
    logs = celery_worker_process.log() + "\n" + caplog.text
    raw_values = [value for values in personal.values() for value in values]
    leaked = [value for value in raw_values if value in stored]
    assert not leaked, f"personal data stored: {leaked}"
    leaked_in_logs = [value for value in raw_values if value in logs]
    assert not leaked_in_logs, f"personal data logged: {leaked_in_logs}"
    assert "<IN_AADHAAR>" in stored and "<PERSON>" in stored


def test_docx_through_the_worker(celery_worker_process):
    alice = make_actor("hospital-a", "alice")
    data = make_docx("Visiting hours", ["Visitors are welcome from 16:00 to 19:00; two visitors per patient."])
    response = alice.client().post(
        "/api/v1/documents", {"file": SimpleUploadedFile("visiting.docx", data)}, format="multipart"
    )
    body = _wait_for(alice.client(), response.json()["id"])
    assert body["status"] == "indexed" and body["chunk_count"] >= 1
    assert body["title"] == "Visiting hours"


def test_corrupt_pdf_fails_in_the_worker_with_a_reason(celery_worker_process):
    alice = make_actor("hospital-a", "alice")
    response = alice.client().post(
        "/api/v1/documents",
        {"file": SimpleUploadedFile("broken.pdf", b"%PDF-1.7\n1 0 obj <<>>\n" + b"\xff" * 300)},
        format="multipart",
    )
    body = _wait_for(alice.client(), response.json()["id"])
    assert body["status"] == "failed"
    assert body["error"]["code"] in {"corrupt_file", "no_text"} and body["error"]["message"]


def test_management_command_in_another_process_uses_the_same_database():
    """What an operator runs in a second terminal lands in the database the service uses."""
    from django.db import connection

    result = subprocess.run(
        [sys.executable, "manage.py", "bootstrap_tenant", "--tenant", "second-terminal", "--user", "ops"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, **_database_env(connection.settings_dict["NAME"])},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("crk_")
    assert Tenant.objects.filter(slug="second-terminal").exists()
