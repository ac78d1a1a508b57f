"""The embedder: one text goes through the traced graph, batches through the model's modules; both must agree."""

from __future__ import annotations

import numpy as np

from ingestion.embeddings import EMBEDDING_DIMENSIONS, _one_text_encoder, embed

TEXTS = [
    "What is the notice period for staff on probation?",
    "",
    "x",
    "Überweisungen über 10.000 € brauchen zwei Unterschriften; 東京 office closes at 18:00.",
    # Longer than the model's 256-token window: truncated the same way on both paths.
    "The retention schedule covers invoices, payslips and contracts. " * 60,
]


def test_one_text_path_gives_the_batch_vectors():
    assert _one_text_encoder() is not None, "the TorchScript trace failed: questions fall back to the slower path"
    one_by_one = np.stack([embed([text])[0] for text in TEXTS])
    # A batch pads its texts to the longest; the attention mask keeps padding out of the vectors.
    batched = embed([*TEXTS, "padding forces the batch path"])[: len(TEXTS)]
    assert one_by_one.shape == (len(TEXTS), EMBEDDING_DIMENSIONS)
    np.testing.assert_allclose(one_by_one, batched, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(one_by_one, axis=1), 1.0, atol=1e-5)


def test_related_texts_are_closer_than_unrelated_ones():
    question, answer, unrelated = embed(
        [
            "How many days of annual leave do employees get?",
            "Employees are entitled to 25 days of paid annual leave per year.",
            "The canteen serves vegetarian lunches on Fridays.",
        ]
    )
    asked = embed(["How many days of annual leave do employees get?"])[0]
    np.testing.assert_allclose(asked, question, atol=1e-5)
    assert float(asked @ answer) > float(asked @ unrelated) + 0.2
