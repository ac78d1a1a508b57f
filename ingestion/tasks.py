from __future__ import annotations

from celery import shared_task

from ingestion.services import document_process


@shared_task(name="ingestion.process_document", acks_late=True, ignore_result=True)
def process_document(document_id: str) -> None:
    document_process(document_id=document_id)
