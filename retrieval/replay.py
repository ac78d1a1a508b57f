"""Replay of an audited answer: the same redacted question, the same chunks, the same model file and sampling
must give the same text (greedy decoding at temperature 0 with a fixed seed)."""

from __future__ import annotations

from dataclasses import dataclass

from cleanroom.audit.models import AuditEvent
from cleanroom.audit.services import audit_record
from cleanroom.errors import ServiceError
from cleanroom.policies.selectors import tenant_policy
from cleanroom.residency import check_processing_allowed
from cleanroom.routing import tenant_scope
from ingestion.embeddings import embed
from ingestion.models import Chunk
from retrieval.llm import Sampling, answer_backend, backend_chat
from retrieval.prompting import JUDGE_CHOICES, answer_clean, build_judge_messages, build_rescue_messages
from retrieval.selectors import ScoredChunk
from retrieval.services import prompt_build, replay_fingerprint


@dataclass
class ReplayResult:
    event_id: int
    identical: bool
    prompt_identical: bool
    model_identical: bool
    answer: str  # generated from redacted passages and a redacted question


def answer_replay(*, event_id: int) -> ReplayResult:
    event = AuditEvent.objects.filter(pk=event_id, action="query.answered").select_related("tenant").first()
    if event is None or event.tenant is None:
        raise ServiceError("not_found", f"No answer audit entry {event_id}.", status_code=404)
    details = event.details
    if not details.get("model_backend") or not details.get("output_sha256"):
        raise ServiceError(
            "not_replayable",
            f"Entry {event_id} did not call a model (it abstained before), or predates replay fingerprints.",
        )
    # The prompt was built from the retrieved chunks that passed the relevance threshold, in retrieval order.
    relevant = [
        (chunk_id, score)
        for chunk_id, score in zip(details["retrieved_chunk_ids"], details["retrieved_scores"], strict=True)
        if score >= details["min_relevance"]
    ]
    with tenant_scope(event.tenant):
        rows = {c.pk: c for c in Chunk.objects.filter(tenant=event.tenant, pk__in=[i for i, _ in relevant])}
        titles = dict(
            Chunk.objects.filter(pk__in=rows).values_list("pk", "document__title")
        )  # same store: the join stays inside it
    missing = [i for i, _ in relevant if i not in rows]
    if missing:
        raise ServiceError(
            "chunks_gone",
            f"Chunk(s) {missing} of entry {event_id} no longer exist (deleted, "
            "purged or erased); the answer cannot be replayed.",
        )
    chunks = [
        ScoredChunk(i, str(rows[i].document_id), titles[i], rows[i].section, rows[i].text, score)
        for i, score in relevant
    ]
    question = details["question"]  # stored redacted
    _, _, messages = prompt_build(question, embed([question], kind="query")[0], chunks)
    backend = answer_backend(details["model_backend"].get("model_id"))
    check_processing_allowed(tenant_policy(tenant=event.tenant), backend_region=backend.region, what="answer model")
    if details.get("abstain_reason") == "judged_unanswerable":
        # The model was only asked whether its passages answer the question: the replay asks again.
        judgement = backend.choice_probability(build_judge_messages(messages), JUDGE_CHOICES)
        text = ""
        identical = judgement is not None and round(judgement, 4) == details.get("judgement")
    else:
        if details.get("judgement") is not None:
            # The original answer was generated right after its judgement and reused that prompt's cached prefix;
            # llama.cpp's arithmetic depends on how a prompt is split into batches, so the replay takes the same
            # two steps to reproduce the same tokens.
            backend.choice_probability(build_judge_messages(messages), JUDGE_CHOICES)
        sampling = Sampling(**details["sampling"])
        text = answer_clean(backend_chat(backend, messages, sampling))
        if details.get("rescued"):
            # It declined, and was asked once more with the plain request (services.answer_stream).
            text = answer_clean(backend_chat(backend, build_rescue_messages(messages), sampling))
        identical = replay_fingerprint(messages, text)["output_sha256"] == details["output_sha256"]
    fingerprint = replay_fingerprint(messages, text)
    result = ReplayResult(
        event_id=event_id,
        identical=identical,
        prompt_identical=fingerprint["prompt_sha256"] == details["prompt_sha256"],
        model_identical=backend.identity() == details["model_backend"],
        answer=text,
    )
    audit_record(
        tenant=event.tenant,
        actor=None,
        action="query.replayed",
        details={
            "event_id": event_id,
            "identical": result.identical,
            "prompt_identical": result.prompt_identical,
            "model_identical": result.model_identical,
        },
    )
    return result
