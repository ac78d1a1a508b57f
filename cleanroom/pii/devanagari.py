"""Hindi and other Indian scripts: identifiers written with Indian digits, and names written in Devanagari.

Detection reads digits through `ascii_digits` (one character for one character, so every offset found in the
normalised text is the same in the original), and Devanagari names through `find_devanagari_names`. Presidio and
spaCy are imported lazily.

Who decides on a name written in an Indic script. spaCy's English model (the NER behind Presidio's PERSON,
ORGANIZATION and LOCATION) was trained on English in Latin letters; on Devanagari it guesses. On four Premchand
stories (bench/data/hindi, 11,450 words) it called 473 spans people: auxiliaries ("हैं।", "रहे"), nouns
("मेहमानों"), whole clauses, a story's title, and almost none of the characters. Its entities are therefore cut to
the words it can read (`readable_entities`, used where the engine turns spaCy's entities into Presidio's): an entity
that holds a word of an Indic script keeps only its runs of other words ("Ramesh ने" -> "Ramesh"), so Romanised names
in Hindi text are found as before, and on Devanagari only the rules below decide. They need no capital letters,
which the script does not have:
- a form label ("नाम:", "पिता का नाम:", "आवेदक:", "खाताधारक -"), an honorific ("श्री", "श्रीमती", "डॉ.") or a
  relation ("पुत्र श्री ...") before the name: the strongest signals. An honorific is a whole word or ends in a dot
  ("श्रीमती" is not "श्री" + "मती", "डॉक्टर" is no "डॉ"). "स्वर्गीय" is no honorific here: it is also "heavenly"
  ("स्वर्गीय पदार्थ"); "स्व." and "स्वर्गीय श्री ..." still are. A relation without an honorific counts after a name,
  as forms write it ("अनिल यादव पुत्र रामेश्वर प्रसाद"), not after a possessive, as stories do ("उसकी पत्नी बीमार
  थी");
- one to three words before a common surname ("प्रिया शर्मा", "राम प्रसाद गुप्ता"), never across a function word
  (spaCy's Hindi stop words and ours: "लेकिन चौधरी" is no name). A surname that is also an everyday word or a title
  (लाल red, देवी goddess, सिंह lion, कुमार boy, ठाकुर and चौधरी, titles of landlords and headmen) counts only right
  after a listed given name ("सुनीता देवी", not "ख़ूब लाल" or "एकाएक ठाकुर");
- a listed given name on its own ("सुरेश ने बताया"): the Indian given names that names.py knows in Latin letters,
  written in Devanagari, less those that are also everyday Hindi words (आशा hope, विकास development, दीपक lamp,
  सीमा border, विजय victory, राम and कृष्ण, gods as much as people ...). A capital-less script gives no other cue, so
  a list has to be short and unambiguous rather than large: names that are not in it (हामिद, गंगी, हल्कू in the
  stories) are found only by the markers above;
- later mentions of a name found so, by one of its words ("पंडित बुद्धिराम ... बुद्धिराम ने"), as span_filters.py
  does for Latin names;
- no given name or surname rule fires before a word of places and institutions ("राजेंद्र नगर", "इंदिरा गांधी
  अस्पताल", "शर्मा मार्केट").
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
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


# The Brahmic scripts' blocks, Devanagari to Sinhala: what an English NER model cannot read.
_INDIC = re.compile(r"[\u0900-\u0DFF]")


def readable_entities(doc: Any) -> list[Any]:  # noqa: ANN401 - spaCy's Doc and Spans, imported lazily
    """The entities of an English spaCy model on `doc`, cut to the words it can read: an entity that holds a word of
    an Indic script keeps its runs of other words that have a letter or a digit ("Ramesh ने" -> "Ramesh"), and
    nothing else (see the module's docstring)."""
    if not _INDIC.search(doc.text):
        return list(doc.ents)
    from spacy.tokens import Span

    kept = []
    for ent in doc.ents:
        if not _INDIC.search(ent.text):
            kept.append(ent)
            continue
        runs: list[list[int]] = [[]]
        for i in range(ent.start, ent.end):
            if _INDIC.search(doc[i].text):
                runs.append([])
            else:
                runs[-1].append(i)
        for run in runs:
            while run and doc[run[0]].is_punct:
                run.pop(0)
            while run and doc[run[-1]].is_punct:
                run.pop()
            if run and any(ch.isalnum() for i in run for ch in doc[i].text):
                kept.append(Span(doc, run[0], run[-1] + 1, label=ent.label))
    return kept


# A Devanagari word: letters, vowel signs and nukta; not the danda (।), double danda or digits.
_WORD = r"[\u0900-\u0963\u0971-\u097F]+"
_DEVANAGARI_WORD = re.compile(_WORD)
_NOT_IN_WORD = r"(?![\u0900-\u0963\u0971-\u097F])"
# Honorifics: a whole word, or an abbreviation with its dot. "डॉ" may go without its dot, as it is often written.
HONORIFICS = (
    rf"(?:श्रीमती|श्रीमान|श्री|सुश्री|कुमारी|पंडित|मोहतरमा|जनाब|डॉ){_NOT_IN_WORD}"
    r"|(?:डॉ|डा|स्व|पं)\."
)
LABELS = (
    "नाम|आवेदक|आवेदिका|प्रार्थी|लाभार्थी|ग्राहक|खाताधारक|कर्मचारी|रोगी|मरीज़?|पिता|पति|माता|पत्नी|अभिभावक|"
    "नामांकित व्यक्ति|प्राप्तकर्ता|हस्ताक्षरकर्ता"
)
RELATIONS = "पुत्र|पुत्री|पत्नी|पति|सुपुत्र|सुपुत्री|बेटा|बेटी"
# Words that end a name: postpositions, conjunctions, verbs and nouns that follow names in running text, and
# kinship words ("बुद्धिराम काकी को": the aunt is not part of his name). spaCy's Hindi stop words are added below.
STOP_WORDS = frozenset(
    """
    ने को का की के से में पर और तथा एवं या है हैं था थी थे द्वारा हेतु लिए निवासी ग्राम जिला पता उम्र आयु
    वर्ष दिनांक मोबाइल फोन संख्या नंबर आधार पैन पुत्र पुत्री पत्नी पति सुपुत्र सुपुत्री जी साहब महोदय महोदया
    नाम पिता माता आवेदक श्री श्रीमती श्रीमान सुश्री कुमारी पंडित डॉ जनाब मोहतरमा
    मेरा मेरी मेरे तेरा तेरी तेरे उसका उसकी इसकी हमारा हमारी हमारे तुम्हारा तुम्हारी तुम्हारे आपका आपकी आपके
    माँ मां बाप बेटा बेटी बहू भाभी भैया चाचा चाची काका काकी दादा दादी नाना नानी मामा मामी बुआ मौसी
    अब आज कल सब बस ख़ूब खूब
    """.split()
)
SURNAMES = frozenset(
    """
    शर्मा वर्मा गुप्ता सिंह कुमार कुमारी यादव देवी मिश्रा मिश्र तिवारी त्रिपाठी पांडे पाण्डेय पांडेय चौहान जैन अग्रवाल
    खान पटेल शाह मेहता जोशी राव रेड्डी नायर अय्यर चौधरी ठाकुर दुबे द्विवेदी चतुर्वेदी श्रीवास्तव सक्सेना बंसल गोयल
    मलिक कपूर खन्ना भट्ट दास बनर्जी मुखर्जी चटर्जी घोष बोस सेन रॉय राय लाल प्रसाद नाथ राठौर राजपूत शुक्ला उपाध्याय
    दीक्षित पाठक गिल कौर अहमद अली हुसैन क़ुरैशी कुरैशी अंसारी सिद्दीकी देसाई पाटिल कुलकर्णी देशपांडे नायडू मेनन
    पिल्लै बत्रा अरोड़ा चोपड़ा मल्होत्रा आहूजा सेठी भाटिया रस्तोगी
    """.split()
)
# Surnames that are also everyday words, titles or communities: a name only right after a listed given name.
AMBIGUOUS_SURNAMES = frozenset(
    """
    सिंह कुमार कुमारी देवी लाल प्रसाद नाथ दास राय शाह खान ठाकुर चौधरी मलिक सेन कौर राव राजपूत पाठक पटेल जैन
    मिश्र कपूर घोष दीक्षित उपाध्याय
    """.split()
)
# Given names of names.GIVEN_NAMES that are also everyday or religious words (hope, sky, lamp, border, victory,
# development, gods): never a name on their own, and never spread to other mentions (see _repeated).
EVERYDAY_GIVEN_NAMES = frozenset(
    """
    आकाश अभय अखिल अक्षय आलोक अमर आनंद अंकित अनुपम अर्चना आशा अशोक अश्विन अतुल भावना भव्य भारत चंद्र चेतन दर्शन
    दीपक ध्रुव दुर्गा गणेश गौरव गीता हरि हेमंत ईशान ज्योति काजल कल्पना कमल कार्तिक कविता काव्य किरण किशोर कृष्ण
    कृष्णा लक्ष्मी ललित लता मधु मोहिनी नारायण नवीन निखिल निशा पंकज पूजा प्रकाश प्रणव प्रसाद प्रतीक प्रवीण प्रीति
    राज राजकुमार राम रानी रवि रेखा ऋतु सागर समीर संतोष सरिता सविता सीमा शालिनी शांति शिव सुधा सुषमा तरुण उषा
    विजय विकास विक्रम विनय विनोद विशाल विवेक यश
    """.split()
)
# The rest of names.GIVEN_NAMES in Devanagari: usual spellings, nukta dropped (see _plain).
GIVEN_NAMES = frozenset(
    """
    आरव आदित्य आध्या अभिषेक अदिति अगस्त्य अजय अजीत अजित अमित अमिता अमृता अनन्या अनिल अनीता अनिता अंजलि अंजली
    अंकिता अनुराधा अनुष्का अपर्णा अर्जुन अरुण अरुणा अरविंद अरविन्द आयशा दीपा दीपिका देवेंद्र देवेन्द्र दिनेश दिव्या
    फरहान फातिमा गिरीश गोपाल गोविंद गोविन्द गुरप्रीत हरीश हरजीत हरप्रीत हेमा इमरान इंदिरा इरफान इशिता जगदीश जया
    जयंत कबीर कमला करण केशव कुणाल कुनाल माधव महेश मनीष मनोज मीना मीरा मोहन मुकेश नंदिनी नन्दिनी नरेश नेहा नीलेश
    निलेश नितिन पल्लवी पार्वती प्रिया प्रियंका राहुल राजेश राजीव राकेश रमेश रोहन रोहित रूपा सचिन साहिल संदीप
    सन्दीप संजय संजना सतीश शर्मिला शेखर शिल्पा श्रेया श्वेता सिद्धार्थ सिमरन स्नेहा सोनल सोनिया श्रीनिवास सुभाष
    सुधीर सुजाता सुमित सुनील सुनीता सुनिता सुरेश स्वाति तन्वी उमा वरुण योगेश जोया मोहम्मद मुहम्मद सैयद वेंकटेश
    लक्ष्मण राघव गौतम जितेंद्र जितेन्द्र महेंद्र महेन्द्र राजेंद्र राजेन्द्र रामकृष्ण शंकर
    """.split()
)
# Words after a name that make it a place or an institution named after someone: "राजेंद्र नगर", "सुभाष मार्ग".
PLACE_WORDS = frozenset(
    """
    नगर मार्ग रोड चौक चौराहा कॉलोनी कालोनी पुरी गंज विहार पार्क सेतु अस्पताल चिकित्सालय विद्यालय महाविद्यालय
    विश्वविद्यालय स्कूल कॉलेज संस्थान भवन सदन मंदिर मस्जिद गुरुद्वारा ट्रस्ट समिति योजना पुरस्कार स्टेडियम
    बाजार मार्केट बैंक केंद्र जयंती जिला तहसील
    """.split()
)
LABEL_SCORE = 0.85
HONORIFIC_SCORE = 0.85
RELATION_SCORE = 0.8
SURNAME_SCORE = 0.7
GIVEN_NAME_SCORE = 0.6
REPEATED_NAME_SCORE = 0.6

_NAME_WORDS = rf"{_WORD}(?:[ \t]+{_WORD}){{0,3}}"
_AFTER_HONORIFIC = re.compile(rf"(?:^|(?<=[\s(\"',:;]))(?:{HONORIFICS})[ \t]*(?P<name>{_NAME_WORDS})")
_AFTER_LABEL = re.compile(
    rf"(?:^|(?<=[\s(\"',;]))(?:{LABELS})(?:[ \t]+(?:का|की|के)[ \t]+नाम)?[ \t]*[:\-–][ \t]*"
    rf"(?:(?:{HONORIFICS})[ \t]*)?(?P<name>{_NAME_WORDS})"
)
_AFTER_RELATION = re.compile(
    rf"(?:^|(?<=\s))(?:{RELATIONS})[ \t]+(?P<honorific>(?:{HONORIFICS})[ \t]*)?(?P<name>{_NAME_WORDS})"
)
_WORD_BEFORE = re.compile(rf"(?P<word>{_WORD})[ \t,]*\Z")
_SPACES = re.compile(r"[ \t]+")
Spans = list[tuple[int, int, float]]  # (start, end, score)


def _plain(word: str) -> str:
    """A word without its nukta: "इरफ़ान" and "इरफान", "ज़ोया" and "जोया" are written both ways."""
    return word.replace("\u093c", "")


@cache
def stop_words() -> frozenset[str]:
    """Words that are never part of a name: ours and spaCy's Hindi stop words (pronouns, postpositions,
    auxiliaries, conjunctions, particles: "कि", "कुछ", "लेकिन", "रहे")."""
    from spacy.lang.hi.stop_words import STOP_WORDS as SPACY_HINDI

    return frozenset(_plain(w) for w in STOP_WORDS | SPACY_HINDI)


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The name words of text[start:end]: up to the first word that ends a name, at most four words."""
    words = list(_DEVANAGARI_WORD.finditer(text, start, end))
    kept = []
    for word in words:
        if _plain(word.group(0)) in stop_words():
            break
        kept.append(word)
    if not kept:
        return None
    return kept[0].start(), kept[-1].end()


def _after_a_name(text: str, position: int) -> bool:
    """A relation word names the next person in a form ("अनिल यादव पुत्र रामेश्वर प्रसाद"), not in a story ("उसकी
    पत्नी बीमार थी", "राजा का पुत्र"): the word before it on its line is no stop word (a possessive, a postposition)."""
    line_start = text.rfind("\n", 0, position) + 1
    before = _WORD_BEFORE.search(text, line_start, position)
    return before is not None and _plain(before.group("word")) not in stop_words()


def _before_place_word(text: str, words: list[re.Match[str]], i: int) -> bool:
    """Word i is followed, on its line, by a word of places or institutions."""
    return (
        i + 1 < len(words)
        and bool(_SPACES.fullmatch(text, words[i].end(), words[i + 1].start()))
        and _plain(words[i + 1].group(0)) in PLACE_WORDS
    )


def _joined(text: str, words: list[re.Match[str]], i: int) -> bool:
    """Words i - 1 and i stand next to each other on a line (only spaces between them)."""
    return i > 0 and bool(_SPACES.fullmatch(text, words[i - 1].end(), words[i].start()))


def _listed_names(text: str, words: list[re.Match[str]]) -> Spans:
    """Listed given names alone, and one to three words before a common surname (see the module's docstring)."""
    stops = stop_words()
    spans: Spans = []
    for i, word in enumerate(words):
        plain = _plain(word.group(0))
        if plain in GIVEN_NAMES and not _before_place_word(text, words, i):
            spans.append((word.start(), word.end(), GIVEN_NAME_SCORE))
        if plain not in SURNAMES or not _joined(text, words, i) or _before_place_word(text, words, i):
            continue
        previous = _plain(words[i - 1].group(0))
        if plain in AMBIGUOUS_SURNAMES and previous not in GIVEN_NAMES:
            continue
        first = i
        while first > 0 and i - first < 3 and _joined(text, words, first):
            if _plain(words[first - 1].group(0)) in stops:
                break
            first -= 1
        if first < i:
            spans.append((words[first].start(), word.end(), SURNAME_SCORE))
    return spans


def _repeated(text: str, words: list[re.Match[str]], spans: Spans) -> Spans:
    """Other mentions of a found name by one of its words, unless that word is also an everyday word or a title."""
    found = {_plain(w.group(0)) for start, end, _ in spans for w in _DEVANAGARI_WORD.finditer(text, start, end)}
    name_words = {w for w in found if len(w) > 1} - stop_words() - AMBIGUOUS_SURNAMES - EVERYDAY_GIVEN_NAMES
    return [
        (w.start(), w.end(), REPEATED_NAME_SCORE)
        for w in words
        if _plain(w.group(0)) in name_words and not any(start <= w.start() < end for start, end, _ in spans)
    ]


def find_devanagari_names(text: str) -> Spans:
    """(start, end, score) of names written in Devanagari."""
    if not has_devanagari(text):
        return []
    spans: Spans = []
    for pattern, score in (
        (_AFTER_LABEL, LABEL_SCORE),
        (_AFTER_HONORIFIC, HONORIFIC_SCORE),
        (_AFTER_RELATION, RELATION_SCORE),
    ):
        for match in pattern.finditer(text):
            if pattern is _AFTER_RELATION and not (match.group("honorific") or _after_a_name(text, match.start())):
                continue
            trimmed = _trim(text, match.start("name"), match.end("name"))
            if trimmed:
                spans.append((*trimmed, score))
    words = list(_DEVANAGARI_WORD.finditer(text))
    spans += _listed_names(text, words)
    return spans + _repeated(text, words, spans)


def devanagari_name_recognizer() -> Any:  # noqa: ANN401 - a presidio EntityRecognizer, imported lazily
    from presidio_analyzer import EntityRecognizer, RecognizerResult

    class DevanagariNameRecognizer(EntityRecognizer):
        def __init__(self) -> None:
            super().__init__(supported_entities=["PERSON"], name="DevanagariNameRecognizer", supported_language="en")

        def load(self) -> None:
            stop_words()

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
