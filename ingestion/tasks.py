from __future__ import annotations

from celery import shared_task

from cleanroom.routing import document_scope
from ingestion.services import document_process


@shared_task(name="ingestion.process_document", acks_late=True, ignore_result=True)
def process_document(document_id: str) -> None:
    with document_scope(document_id):  # the document lives in its tenant's region store
        document_process(document_id=document_id)
