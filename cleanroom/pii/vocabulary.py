"""The English words that detection tells names from: the spaCy model's lemmatizer index, read once when the
engine is built (cleanroom/pii/engine.py) and kept here, where the span filters (cleanroom/pii/span_filters.py)
read them without importing the engine."""

from __future__ import annotations

# Filled by cleanroom.pii.engine.analyzer_engine(), which detection builds before any span is filtered.
ENGLISH_WORDS: dict[str, frozenset[str]] = {}


def lemmatizer_words(nlp) -> frozenset[str]:  # noqa: ANN001
    """The nouns, verbs, adjectives and adverbs the model's lemmatizer knows (WordNet's index)."""
    try:
        index = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_index")
    except (KeyError, ValueError):
        return frozenset()
    return frozenset(word for key in index for word in index[key])


def built_english_words() -> frozenset[str]:
    """The lemmatizer's English words, as the engine read them when it was built (cleanroom.pii.engine.english_words
    builds the engine first when need be)."""
    return ENGLISH_WORDS["en"]
