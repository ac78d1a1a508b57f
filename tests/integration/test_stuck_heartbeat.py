"""Stuck documents: a worker refreshes what it holds (steps.claims_heartbeat), so the sweep re-queues a document
within minutes of its worker dying and never takes one from a worker that is alive but slow."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from ingestion.models import Document
from ingestion.pipeline import document_process
from ingestion.steps import claims_heartbeat
from ingestion.sweep import documents_requeue_stuck
from tests.conftest import upload

# The heartbeat runs on a thread with its own connection: it must see committed rows.
pytestmark = pytest.mark.django_db(transaction=True)

POLICY = b"Travel policy.\n\nEconomy class is booked for flights under six hours. Hotels up to 120 EUR a night.\n"


def _hold(document: Document) -> uuid.UUID:
    """As a worker's claim leaves it: in a step, with a token, its step started long ago."""
    token = uuid.uuid4()
    Document.objects.filter(pk=document.pk).update(
        status=Document.Status.REDACTING,
        claim_token=token,
        attempts=1,
        step_started_at=timezone.now() - timedelta(hours=1),
    )
    return token


def test_a_slow_live_worker_keeps_its_documents_and_a_dead_one_loses_them_within_seconds(alice, settings):
    settings.INGEST_HEARTBEAT_SECONDS = 1
    stuck_after = timedelta(seconds=3)
    slow = upload(alice, "slow.txt", POLICY)
    token = _hold(slow)
    with claims_heartbeat([slow.pk], token):
        for _ in range(3):  # 6 s in a step: twice the stuck limit, refreshed every second
            time.sleep(2)
            assert documents_requeue_stuck(older_than=stuck_after).requeued == []
    slow.refresh_from_db()
    assert (slow.status, slow.claim_token) == (Document.Status.REDACTING, token)

    # The worker is gone: no heartbeat. The next sweep after the limit takes the document back.
    time.sleep(stuck_after.total_seconds() + 0.5)
    assert documents_requeue_stuck(older_than=stuck_after).requeued == [str(slow.pk)]
    slow.refresh_from_db()
    assert slow.status == Document.Status.QUEUED and slow.claim_token is None
    # ... and the retry claims and indexes it exactly once.
    assert document_process(document_id=str(slow.pk)) == [str(slow.pk)]
    slow.refresh_from_db()
    assert slow.status == Document.Status.INDEXED and slow.attempts == 2
    assert [step["status"] for step in slow.steps].count("indexed") == 1


def test_a_swept_runs_heartbeat_does_not_revive_its_old_claim(alice, settings):
    settings.INGEST_HEARTBEAT_SECONDS = 1
    document = upload(alice, "late.txt", POLICY)
    token = _hold(document)
    with claims_heartbeat([document.pk], token):
        # Swept meanwhile (the worker was presumed dead): the token is gone, so the beats refresh nothing.
        assert documents_requeue_stuck(older_than=timedelta(seconds=1)).requeued == [str(document.pk)]
        Document.objects.filter(pk=document.pk).update(step_started_at=timezone.now() - timedelta(hours=1))
        time.sleep(2.5)
    document.refresh_from_db()
    # The sweep also sent its task again: a live worker of the suite may have claimed it since, with a claim of its
    # own. Either way the old run's claim stays gone, and while nobody holds it its beats refreshed nothing.
    assert document.claim_token != token
    assert any("re-queued" in step.get("note", "") for step in document.steps)
    if document.status == Document.Status.QUEUED:
        assert document.claim_token is None
        assert document.step_started_at < timezone.now() - timedelta(minutes=30)


def test_default_retry_of_a_dead_workers_document_is_within_minutes(settings):
    # A document held by a killed worker waits at most the stuck limit plus one sweep interval (was 35 minutes).
    assert settings.INGEST_STUCK_AFTER_SECONDS + settings.INGEST_SWEEP_INTERVAL_SECONDS <= 5 * 60
    # ... while a live worker refreshes its documents several times within that limit.
    assert settings.INGEST_HEARTBEAT_SECONDS * 3 <= settings.INGEST_STUCK_AFTER_SECONDS
