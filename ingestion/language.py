"""The language of a chunk, detected from its (redacted) text with py3langid: a small naive Bayes model over byte
n-grams that ships inside the package, so nothing is downloaded (97 languages, ~0.1 ms a chunk).

Recorded on every chunk and counted in the document's manifest. Lexical search does not depend on it: the text
search configuration (retrieval migration 0003) picks a stemmer per word by its script, which also serves the
mixed Hindi-English text that a per-chunk choice would half mangle, and queries, whose language is unknown.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

# Placeholders left by redaction (<PERSON>, <IN_AADHAAR_2>) are English words to the model; citations and numbers
# carry no language either.
_NOISE = re.compile(r"<[A-Z][A-Z0-9_]*>|\[\d+\]|[\d\W_]+", re.UNICODE)
MIN_LETTERS = 12  # below this a guess is noise: "und" (undetermined)
MIN_CONFIDENCE = 0.5
UNDETERMINED = "und"


@cache
def _identifier() -> Any:  # noqa: ANN401 - py3langid has no type hints
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def text_language(text: str) -> str:
    """ISO 639-1 code of the text's language ("hi", "en", "mr" ...), or "und" when too short or unsure."""
    letters = _NOISE.sub(" ", text).strip()
    if sum(not ch.isspace() for ch in letters) < MIN_LETTERS:
        return UNDETERMINED
    language, confidence = _identifier().classify(letters)
    return str(language) if confidence >= MIN_CONFIDENCE else UNDETERMINED
