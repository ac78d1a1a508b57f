"""Hindi and other Indian scripts: identifiers written with Indian digits, and names written in Devanagari.

Detection reads digits through `ascii_digits` (one character for one character, so every offset found in the
normalised text is the same in the original), and Devanagari names through a recognizer of form labels
("नाम:"), honorifics ("श्रीमती"), relations ("पुत्र") and common surnames. Presidio is imported lazily."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# Devanagari, Bengali, Gurmukhi, Gujarati, Oriya, Tamil, Telugu, Kannada, Malayalam and Sinhala digits, and the
# full-width ones: every decimal digit of those blocks, mapped to its ASCII digit.
_DIGITS = {
    codepoint: ord(str(unicodedata.decimal(chr(codepoint))))
    for block in ((0x0966, 0x0DEF), (0xFF10, 0xFF19))
    for codepoint in range(block[0], block[1] + 1)
    if unicodedata.category(chr(codepoint)) == "Nd"
}


def ascii_digits(text: str) -> str:
    """`text` with Indian (and full-width) digits as ASCII digits: "४१७५" -> "4175". Same length, same offsets."""
    return text.translate(_DIGITS) if any(ord(ch) in _DIGITS for ch in text) else text


def has_devanagari(text: str) -> bool:
    return bool(_DEVANAGARI_WORD.search(text))


# A Devanagari word: letters, vowel signs and nukta; not the danda (।), double danda or digits.
_WORD = r"[\u0900-\u0963\u0971-\u097F]+"
_DEVANAGARI_WORD = re.compile(_WORD)
HONORIFICS = "श्रीमती|श्रीमान|श्री|सुश्री|कुमारी|डॉ\\.?|डा\\.|स्व\\.|स्वर्गीय|पं\\.|पंडित|मोहतरमा|जनाब"
LABELS = (
    "नाम|आवेदक|आवेदिका|प्रार्थी|लाभार्थी|ग्राहक|खाताधारक|कर्मचारी|रोगी|मरीज़?|पिता|पति|माता|पत्नी|अभिभावक|"
    "नामांकित व्यक्ति|प्राप्तकर्ता|हस्ताक्षरकर्ता"
)
RELATIONS = "पुत्र|पुत्री|पत्नी|पति|सुपुत्र|सुपुत्री|बेटा|बेटी"
# Words that end a name: postpositions, conjunctions, verbs and nouns that follow names in running text.
STOP_WORDS = frozenset(
    """
    ने को का की के से में पर और तथा एवं या है हैं था थी थे द्वारा हेतु लिए निवासी ग्राम जिला पता उम्र आयु
    वर्ष दिनांक मोबाइल फोन संख्या नंबर आधार पैन पुत्र पुत्री पत्नी पति सुपुत्र सुपुत्री जी साहब महोदय महोदया
    नाम पिता माता आवेदक श्री श्रीमती कुमारी
    """.split()
)
SURNAMES = frozenset(
    """
    शर्मा वर्मा गुप्ता सिंह कुमार कुमारी यादव देवी मिश्रा मिश्र तिवारी त्रिपाठी पांडे पाण्डेय पांडेय चौहान जैन अग्रवाल
    खान पटेल शाह मेहता जोशी राव रेड्डी नायर अय्यर चौधरी ठाकुर दुबे द्विवेदी चतुर्वेदी श्रीवास्तव सक्सेना बंसल गोयल
    मलिक कपूर खन्ना भट्ट दास बनर्जी मुखर्जी चटर्जी घोष बोस सेन रॉय लाल प्रसाद नाथ राठौर राजपूत शुक्ला उपाध्याय
    दीक्षित पाठक गिल कौर अहमद अली हुसैन क़ुरैशी कुरैशी अंसारी सिद्दीकी देसाई पाटिल कुलकर्णी देशपांडे नायडू मेनन
    पिल्लै बत्रा अरोड़ा चोपड़ा मल्होत्रा आहूजा सेठी भाटिया रस्तोगी
    """.split()
)
LABEL_SCORE = 0.85
HONORIFIC_SCORE = 0.85
RELATION_SCORE = 0.8
SURNAME_SCORE = 0.7

_NAME_WORDS = rf"{_WORD}(?:[ \t]+{_WORD}){{0,3}}"
_AFTER_HONORIFIC = re.compile(rf"(?:^|(?<=[\s(\"',:;]))(?:{HONORIFICS})[ \t]*(?P<name>{_NAME_WORDS})")
_AFTER_LABEL = re.compile(
    rf"(?:^|(?<=[\s(\"',;]))(?:{LABELS})(?:[ \t]+(?:का|की|के)[ \t]+नाम)?[ \t]*[:\-–][ \t]*"
    rf"(?:(?:{HONORIFICS})[ \t]*)?(?P<name>{_NAME_WORDS})"
)
_AFTER_RELATION = re.compile(rf"(?:^|(?<=\s))(?:{RELATIONS})[ \t]+(?:(?:{HONORIFICS})[ \t]*)?(?P<name>{_NAME_WORDS})")
_RUN = re.compile(rf"{_WORD}(?:[ \t]+{_WORD}){{1,3}}")


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The name words of text[start:end]: up to the first word that ends a name, at most four words."""
    words = list(_DEVANAGARI_WORD.finditer(text, start, end))
    kept = []
    for word in words:
        if word.group(0) in STOP_WORDS:
            break
        kept.append(word)
    if not kept:
        return None
    return kept[0].start(), kept[-1].end()


def find_devanagari_names(text: str) -> list[tuple[int, int, float]]:
    """(start, end, score) of names written in Devanagari."""
    if not has_devanagari(text):
        return []
    spans: list[tuple[int, int, float]] = []
    for pattern, score in ((_AFTER_LABEL, LABEL_SCORE), (_AFTER_HONORIFIC, HONORIFIC_SCORE)):
        for match in pattern.finditer(text):
            trimmed = _trim(text, match.start("name"), match.end("name"))
            if trimmed:
                spans.append((*trimmed, score))
    for match in _AFTER_RELATION.finditer(text):
        trimmed = _trim(text, match.start("name"), match.end("name"))
        if trimmed:
            spans.append((*trimmed, RELATION_SCORE))
    # Two to four words ending in a common surname: "प्रिया शर्मा", "राम प्रसाद गुप्ता".
    for match in _RUN.finditer(text):
        words = list(_DEVANAGARI_WORD.finditer(match.group(0)))
        for i, word in enumerate(words):
            if word.group(0) not in SURNAMES or i == 0:
                continue
            first = i
            while first > 0 and i - first < 3 and words[first - 1].group(0) not in STOP_WORDS | SURNAMES:
                first -= 1
            if first < i:
                spans.append((match.start() + words[first].start(), match.start() + word.end(), SURNAME_SCORE))
    return spans


def devanagari_name_recognizer() -> Any:  # noqa: ANN401 - a presidio EntityRecognizer, imported lazily
    from presidio_analyzer import EntityRecognizer, RecognizerResult

    class DevanagariNameRecognizer(EntityRecognizer):
        def __init__(self) -> None:
            super().__init__(supported_entities=["PERSON"], name="DevanagariNameRecognizer", supported_language="en")

        def load(self) -> None:
            pass

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:  # noqa: ANN401
            if "PERSON" not in entities:
                return []
            metadata = {
                RecognizerResult.RECOGNIZER_NAME_KEY: "DevanagariNameRecognizer",
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            }
            return [
                RecognizerResult("PERSON", start, end, score, recognition_metadata=dict(metadata))
                for start, end, score in find_devanagari_names(text)
            ]

    return DevanagariNameRecognizer()
