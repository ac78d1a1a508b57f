"""Span filters: what the clean room does to the spans that Presidio's recognizers report, before they are
redacted. `refine_spans` is the one entry point (cleanroom/pii/engine.py calls it on each text's spans): it drops
spans that cut a word, names that are ordinary words, countries or firms, dates that are no dates and anything
inside a street address; it trims names to their line; it adds the addresses, countries, places and organisations
of cleanroom/pii/places.py and the names that only the text's shape gives away (signatures, speakers, vocatives,
lists, repeated mentions); and it joins overlapping names into one."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache, partial

from cleanroom.pii.generic import plausible_date
from cleanroom.pii.names import (
    FESTIVALS,
    HONORIFICS,
    NOT_NAMES,
    PARTICLES,
    PLACE_OR_ORG_WORDS,
    SINGLE_FIRST_NAME_SCORE,
    TITLES,
    find_holidays,
    first_names,
    indian_given_names,
    known_surname,
    name_popularity,
    plausible_person,
    surname_ranks,
)
from cleanroom.pii.places import (
    country_names,
    find_addresses,
    find_countries,
    find_organisations,
    find_places,
    indian_city_names,
    known_place_names,
)
from cleanroom.pii.redaction import Span
from cleanroom.pii.vocabulary import built_english_words


def _cuts_a_word(text: str, start: int, end: int) -> bool:
    """A match that starts or ends inside a word ("FE3817131" inside the voter id "RFE3817131") is a wrong reading
    of a longer identifier; the recognizer that matches the whole token should win."""
    return (start > 0 and text[start - 1].isalnum() and text[start].isalnum()) or (
        end < len(text) and text[end].isalnum() and text[end - 1].isalnum()
    )


# Types whose spans inside an address are the address's: a street named after someone ("Jana Nerudy 894"), a town
# that spaCy calls a person ("Praha").
_NAMES_OF_THINGS = frozenset({"PERSON", "ORGANIZATION", "DATE_TIME", "LOCATION", "NRP"})


# Numbers inside an address are its house number and postcode, not a phone or a vehicle ("APO AP 99241").
_NUMBERS_OF_ADDRESSES = frozenset({"PHONE_NUMBER", "IN_VEHICLE_REGISTRATION", "DATE_TIME"})
_HONORIFIC_BEFORE = re.compile(rf"\b(?:{HONORIFICS})\.?[ \t]+$")
_WORDS = re.compile(r"[^\W\d_]+")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n\"“(>]\s*)$")
_SURNAME_COMMA = re.compile(r",[ \t]?")
# A street address outranks a name that overlaps its town line ("Pines Beach"), not an identifier (1.0).
ADDRESS_SCORE = 0.9
# Above spaCy's 0.85, so that "Tunisia" wins over spaCy's "Southern Tunisia" and "Shepherd Ltd" over its
# "The Shepherd Ltd. Orchestra"; below an address (0.9).
COUNTRY_SCORE = 0.86
ORGANISATION_SCORE = 0.86
PLACE_SCORE = 0.8


_INTERJECTIONS = frozenset("oh ah hey hi hello ok okay yes no yeah wow please thanks sorry dear".split())


def _english(word: str, common: frozenset[str]) -> bool:
    """In the lemmatizer's word list, also as a plural ("Pleasures", "Tales")."""
    return word in common or (
        word.endswith("s") and (word[:-1] in common or (word.endswith("es") and word[:-2] in common))
    )


@cache
def not_spread() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return _INTERJECTIONS | STOP_WORDS


def _everyday_word(word: str) -> bool:
    """A lower-cased word that names nobody on its own: an English word (also as a plural), a stop word or an
    interjection."""
    return _english(word, built_english_words()) or word in not_spread()


_COMMON_NOUN_ENDING = re.compile(r"(?:ness|ion|ity|ment|person|ship|ism|ence|ance|ology|ics)$")


def _ordinary_words(text: str, start: int, end: int) -> bool:
    """A "name" made only of English words, none of them a given name, with no honorific before it: several
    words ("Guilty Pleasures"), or one that the same text also writes in lower case ("Salesperson") or that ends
    like a common noun ("Discipline" does not, "Depression" does). One English word alone is often a surname
    ("Park", "White", "Mann"), so it stays otherwise."""
    words = [w.lower() for w in _WORDS.findall(text[start:end])]
    common, given = built_english_words(), first_names()
    if len(words) == 1 and words[0] in _INTERJECTIONS:
        return True
    if not words or not all(_english(w, common) and w not in given for w in words):
        return False
    if _HONORIFIC_BEFORE.search(text, max(0, start - 12), start):
        return False
    if len(words) > 1:
        return True
    word = words[0]
    return (
        not known_surname(word, common)
        or bool(_COMMON_NOUN_ENDING.search(word))
        or re.search(rf"\b{re.escape(word)}\b", text) is not None
    )


_NEXT_FIELD = re.compile(r"[:\d@]")


_HYPHEN_COMPOUND = re.compile(r"-[^\W\d_]")


_EMPLOYER_BEFORE = re.compile(
    r"\b(?:(?:work|works|worked|working)[ \t]+(?:for|at)|employed[ \t]+(?:by|at)|employer[ \t]+is)[ \t]+\Z",
    re.IGNORECASE,
)
_FIRM_AFTER = re.compile(
    r"[ \t]+(?:is|was)[ \t]+(?:a|an|the)[ \t]+(?:[\w\-]+[ \t]+){0,2}(?:agency|company|firm|start-?up|brand|band|"
    r"business|brainchild|organi[sz]ation|charity|consultancy|studio|label|platform|app|website|manufacturer|"
    r"retailer|provider|supplier|vendor)\b",
    re.IGNORECASE,
)


def _a_firm(text: str, span: Span) -> bool:
    """One word that is no known given name or surname, named as an employer ("I work for Quorvix") or said to be a firm
    ("Quorvix is a software company")."""
    value = text[span.start : span.end]
    if not value.isalpha() or value.lower() in first_names() or known_surname(value, built_english_words()):
        return False
    return bool(_EMPLOYER_BEFORE.search(text, max(0, span.start - 30), span.start) or _FIRM_AFTER.match(text, span.end))


_PLACE_WORD_BEFORE = re.compile(r"\b(?:in|at|from|to|near|of|the|via|around|outside)[ \t]+\Z", re.IGNORECASE)
_PLACE_WORD_AFTER = re.compile(
    r"[ \t]+(?:[a-z]+[ \t]+)?(?:unit|units|plant|plants|office|offices|branch|factory|factories|mill|mills|"
    r"district|city|division|zone|region|circle|bench|court|station|airport|port|campus|site|depot|warehouse|"
    r"cluster|belt|market|municipal|corporation)\b"
)


def _an_indian_place(text: str, span: Span) -> bool:
    """A lone Indian town or city read as a person ("the Surat dyeing unit", "plants in Pune, Nagpur and
    Coimbatore"). A town that is also a given name or surname ("Anand", "Kalyan") only counts as a place where the
    words around it say so."""
    value = text[span.start : span.end]
    if " " in value or value.lower() not in indian_city_names():
        return False
    if _HONORIFIC_BEFORE.search(text, max(0, span.start - 12), span.start):
        return False
    also_a_name = value.lower() in first_names() or value.lower() in surname_ranks()
    if not also_a_name:
        return True
    # "Pune, Nagpur, Surat": listed beside a town that is no name.
    neighbours = [m.group(1) for m in (_LISTED_BEFORE.search(text, max(0, span.start - 40), span.start),) if m]
    neighbours += [m.group(1) for m in (_LISTED_AFTER.match(text, span.end),) if m]
    if any(w.lower() in indian_city_names() and w.lower() not in first_names() for w in neighbours):
        return True
    return bool(
        _PLACE_WORD_BEFORE.search(text, max(0, span.start - 12), span.start) or _PLACE_WORD_AFTER.match(text, span.end)
    )


_LISTED_BEFORE = re.compile(r"\b([A-Z][a-z]+)(?:,[ \t]*|,?[ \t]+(?:and|or|&)[ \t]+)\Z")
_LISTED_AFTER = re.compile(r"(?:,[ \t]*|,?[ \t]+(?:and|or|&)[ \t]+)([A-Z][a-z]+)\b")


# gender-guesser's frequency level from which a given name is common in some country ("Scott" 7, "Gene" 4).
COMMON_NAME_LEVEL = 5


_THE_BEFORE = re.compile(r"\b[Tt]he[ \t]+\Z")


def _word_not_name(text: str, span: Span) -> bool:
    """A lone given name found only by the word list that is the first part of a compound ("Age-related",
    "Long-term", "Non-small"), that follows "the" (rivers, temples and festivals bear the names of gods: "the
    Yamuna", "the Kaveri"), or a rare given name that is an English word and opens a sentence ("Gene
    expression", "Forest plots"; "Scott called" stays)."""
    value = text[span.start : span.end]
    if span.score != SINGLE_FIRST_NAME_SCORE or not value.isalpha():
        return False
    if _HYPHEN_COMPOUND.match(text, span.end) or _THE_BEFORE.search(text, max(0, span.start - 5), span.start):
        return True
    return (
        value.lower() in built_english_words()
        and name_popularity().get(value.lower(), 0) < COMMON_NAME_LEVEL
        and bool(_SENTENCE_START.search(text, max(0, span.start - 3), span.start))
    )


def _festival_or_title(text: str, span: Span) -> bool:
    """A festival ("at the Eid fair"), or a title that stands for someone without naming them ("the Thakur's
    well", "Thakur Sahib"; "Thakur" alone may be a surname, "Anurag Thakur" is a name)."""
    words = [w.lower() for w in _WORDS.findall(text, span.start, span.end) if len(w) > 1]
    if not words:
        return False
    if all(w in FESTIVALS for w in words):
        return True
    return all(w in TITLES for w in words) and (
        len(words) > 1 or bool(_THE_BEFORE.search(text, max(0, span.start - 5), span.start))
    )


def _in_a_holiday(text: str, span: Span, holidays: list[tuple[int, int]]) -> bool:
    """A "name" inside a named day or a feast (see find_holidays), with no honorific before it."""
    return any(a <= span.start and span.end <= b for a, b in holidays) and not _HONORIFIC_BEFORE.search(
        text, max(0, span.start - 12), span.start
    )


_FIRST_WORD = re.compile(r"(\S+)[ \t]+")
_UNIT_WORD_AT_END = re.compile(r"[ \t]+(?:Suite|Apt|Apartment|Unit|Flat|Floor|Room)\.?\Z")


def _one_line_name(text: str, span: Span) -> Span:
    """spaCy sometimes runs a name into the next line of a form ("Lena Hartmann\nPhone: 0711 2345"): a name
    ends at a line break followed by a label, a number or an address."""
    if span.entity_type != "PERSON":
        return span
    # spaCy may end a name with the line break after it ("Siiri Paananen\n"): the redaction must keep the break.
    value = text[span.start : span.end]
    if value != value.rstrip():
        span = Span(span.start, span.start + len(value.rstrip()), span.entity_type, span.score)
    # "ex-Beatle Ringo Starr": a lower-case word before capitalised ones describes the person.
    first = _FIRST_WORD.match(text, span.start, span.end)
    lead = first.group(1).lower() if first else ""
    if first and first.group(1)[0].islower() and lead not in PARTICLES and lead not in first_names():
        if any(w[0].isupper() for w in _WORDS.findall(text, first.end(), span.end)):
            span = Span(first.end(), span.end, span.entity_type, span.score)
    # "Mrs. Ada Lund Suite 5": a flat or suite after a name on its line is the address's.
    if unit := _UNIT_WORD_AT_END.search(text, span.start, span.end):
        span = Span(span.start, unit.start(), span.entity_type, span.score)
    cut = text.find("\n", span.start, span.end)
    if cut == -1:
        return span
    # The rest of the next line counts too: "Lena Hartmann\nPhone" then ": 0711 2345".
    line_end = text.find("\n", cut + 1)
    # A line that already holds a whole name ("Mia K Lund\nLund-Berg Consulting") ends it; one word may go on
    # after a line break, as PDF text breaks lines ("Anita\nDesai").
    whole = len(_WORDS.findall(text, span.start, cut)) >= 2
    if not whole and not _NEXT_FIELD.search(text, cut, max(span.end, line_end if line_end != -1 else len(text))):
        return span
    return Span(span.start, cut, span.entity_type, span.score)


def refine_spans(text: str, spans: list[Span], wanted: Iterable[str] = ()) -> list[Span]:
    """Add street addresses and countries (cleanroom/pii/places.py) when LOCATION is asked for; drop names, dates
    and places inside an address, numbers that are its house number or postcode, people that are countries or
    ordinary words, and dates and names that their shape or neighbours contradict; join overlapping names
    found by different recognizers ("Ryan" by spaCy, "Ryan P Costa" by the given-name recognizer) into one."""
    addresses = find_addresses(text)
    organisations = find_organisations(text)
    blocks = [(start, end) for start, _, end in addresses]
    inside_address = _NAMES_OF_THINGS | _NUMBERS_OF_ADDRESSES
    countries = country_names()
    places = set(find_places(text))
    # "I work for Quorvix": the firm is an organisation, when organisations are asked for, and no person.
    retyped: list[Span] = []
    hinted = _people_by_context(text) if "PERSON" in wanted else []
    for span in spans:
        if span.entity_type == "PERSON" and _a_firm(text, span):
            if "ORGANIZATION" not in wanted:
                continue
            span = Span(span.start, span.end, "ORGANIZATION", span.score)
        elif "PERSON" in wanted and _a_person_not_a_place(text, span, hinted):
            span = Span(span.start, span.end, "PERSON", span.score)
        retyped.append(span)
    spans = retyped + hinted
    kept = [
        s
        for s in map(partial(_one_line_name, text), spans)
        if not _cuts_a_word(text, s.start, s.end)
        and not (s.entity_type == "DATE_TIME" and not plausible_date(text[s.start : s.end]))
        and not (
            s.entity_type == "PERSON"
            and (
                not plausible_person(text, s.start, s.end)
                or (
                    text[s.start : s.end].lower() in countries
                    and not _HONORIFIC_BEFORE.search(text, max(0, s.start - 12), s.start)
                )
                or _ordinary_words(text, s.start, s.end)
                or _word_not_name(text, s)
                or _festival_or_title(text, s)
                or _an_indian_place(text, s)
                or any(a <= s.start and s.end <= b for a, b in organisations)
                # "flew to Coles", "City: Kochi"
                or ((s.start, s.end) in places and not _HONORIFIC_BEFORE.search(text, max(0, s.start - 12), s.start))
            )
        )
        and not (s.entity_type in inside_address and any(a <= s.start and s.end <= b for a, b in blocks))
    ]
    if "LOCATION" in wanted:
        kept += [Span(start, end, "LOCATION", ADDRESS_SCORE) for start, _, end in addresses]
        orgs = [(s.start, s.end) for s in kept if s.entity_type == "ORGANIZATION"] + organisations
        kept += [
            Span(start, end, "LOCATION", COUNTRY_SCORE)
            for start, end in find_countries(text)
            # "Bank of India", "Air France": the country names the organisation.
            if not any(a <= start and end <= b and (a, b) != (start, end) for a, b in orgs)
        ]
        kept += [Span(start, end, "LOCATION", PLACE_SCORE) for start, end in places]
    if "ORGANIZATION" in wanted:
        kept += [Span(start, end, "ORGANIZATION", ORGANISATION_SCORE) for start, end in organisations]
    if "PERSON" in wanted:
        kept += _signature_names(text, blocks) + _speakers(text) + _addressed_or_referred(text)
        kept += [s for s in _marked_names(text) if not any(a <= s.start and s.end <= b for a, b in blocks)]
    # "Republic Day", "Gandhi Jayanti", "Diwali": a named day or a feast is nobody ("Ms. Day" still is someone).
    holidays = find_holidays(text) if "PERSON" in wanted else []
    kept = [s for s in kept if not (s.entity_type == "PERSON" and _in_a_holiday(text, s, holidays))]
    people = sorted((s for s in kept if s.entity_type == "PERSON"), key=lambda s: s.start)
    joined: list[Span] = []
    for span in people:
        # "Iyer, Kavya" is one name in a list or a form; joining costs nothing when it is two.
        if joined and (span.start < joined[-1].end or _SURNAME_COMMA.fullmatch(text[joined[-1].end : span.start])):
            last = joined[-1]
            joined[-1] = Span(last.start, max(last.end, span.end), "PERSON", max(last.score, span.score))
        else:
            joined.append(span)
    # Joining can make a name cross a line again ("emil j berg" and spaCy's "berg\nberg-holm ab").
    joined = [_one_line_name(text, span) for span in joined]
    if "PERSON" in wanted:
        # "Ritubala and Hariram came": spaCy's place in a list with a person is a person too.
        loose = {(s.start, s.end) for s in kept if _may_be_a_person(text, s)}
        taken = blocks + organisations + holidays + [(s.start, s.end) for s in kept if (s.start, s.end) not in loose]
        listed, firms = _coordinated_names(text, joined, taken, holidays)
        listed_at = {(p.start, p.end) for p in listed} & loose
        kept = [s for s in kept if s.entity_type == "PERSON" or (s.start, s.end) not in listed_at]
        joined = [p for p in joined if not any(a <= p.start and p.end <= b for a, b in firms)] + listed
        if "ORGANIZATION" in wanted:
            kept += [Span(a, b, "ORGANIZATION", ORGANISATION_SCORE) for a, b in firms]
        if joined:
            joined += _repeated_names(text, joined, taken + firms)
    return [s for s in kept if s.entity_type != "PERSON"] + joined


_NAME_PART = re.compile(r"[^\W\d_][^\W\d_'’\-]+")
REPEATED_NAME_SCORE = 0.6


# Names found with at least this score lend their words to other mentions (all of ours and spaCy's do).
FIRST_NAME_SCORE_FLOOR = 0.55


def _repeated_names(text: str, people: list[Span], taken: list[tuple[int, int]]) -> list[Span]:
    """Later (or earlier) mentions of a found name by one of its words: "written by Tomasz Wójcik ... comments from
    Wójcik", "Mr. Rao ... Rao said". A word that is also an English word counts only where a sentence does not
    start ("Key" in "starring Key", not "Key findings")."""
    words = {
        m.group(0)
        for p in people
        if p.score >= FIRST_NAME_SCORE_FLOOR
        for m in _NAME_PART.finditer(text, p.start, p.end)
        # Title-case words only: "RecQ", "CETP" (genes, acronyms that spaCy took for names) do not spread.
        if m.group(0).istitle() and len(m.group(0)) > 2 and m.group(0).lower() not in not_spread()
    }
    if not words:
        return []
    common = built_english_words()
    found: list[Span] = []
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + r")\b")
    for match in pattern.finditer(text):
        start, end = match.span()
        if any(a < end and start < b for a, b in taken) or any(p.start < end and start < p.end for p in people):
            continue
        if match.group(0).lower() in common and _SENTENCE_START.search(text, max(0, start - 3), start):
            continue
        if plausible_person(text, start, end):
            found.append(Span(start, end, "PERSON", REPEATED_NAME_SCORE))
    return found


_LIST_WORD = r"[^\W\d_][^\W\d_'’]*(?:-[^\W\d_]+)?"
# "Okafor, Lindqvist and Brennan", "Hale & Orsini": single words joined by commas and one "and".
_COORDINATION = re.compile(
    rf"(?<![\w\-’'])(?P<words>{_LIST_WORD}(?:,[ \t]*{_LIST_WORD})*,?[ \t]+(?:and|&)[ \t]+{_LIST_WORD})(?![\w\-])"
)
_LIST_ITEM = re.compile(_LIST_WORD)
# "Witnesses examined: Kamla, Bhuralal, Sabitri." - single words after a label, with commas only.
_LABELLED_LIST = re.compile(rf"(?m)(?<=:)[ \t]*(?P<words>{_LIST_WORD}(?:,[ \t]*{_LIST_WORD})+)(?=[ \t]*[.;]?[ \t]*$)")
# Before a law firm's or an orchestra's name ("works at Hill, Price and Young", "The Kent and Wade Orchestra").
_FIRM_BEFORE = re.compile(r"\b(?:the|at|from|of|for|by|with|joined|to)[ \t]*$", re.IGNORECASE)
_LINE_END = re.compile(r"[ \t]*(?:\r?\n|$)")
_NEXT_WORD = re.compile(r"[ \t]+([^\W\d_]+)")
_FIRM_WORDS = PLACE_OR_ORG_WORDS | frozenset("llp plc gmbh ag partnership lawyers solicitors attorneys".split())


def _coordinated_names(
    text: str, people: list[Span], taken: list[tuple[int, int]], holidays: list[tuple[int, int]]
) -> tuple[list[Span], list[tuple[int, int]]]:
    """Surnames in a list: "Okafor, Lindqvist and Brennan founded it", "Hale and Orsini built it" name people when
    every item is a found name, a known surname or a word that is not English, and at least one is found or known.
    Three or more names after "at", "from", "The" or alone on a line, or any such list before "Orchestra",
    "Associates", "LLP" ..., are a firm ("Hill, Price and Young"): its names are not people. Returns the people
    to add and the firms' (start, end)."""
    common, given, countries = built_english_words(), first_names(), country_names()
    added: list[Span] = []
    firms: list[tuple[int, int]] = []
    matches = [*_COORDINATION.finditer(text), *_LABELLED_LIST.finditer(text)]
    for match in matches:
        items = list(_LIST_ITEM.finditer(text, match.start("words"), match.end("words")))
        items = [m for m in items if m.group(0).lower() not in {"and"}]
        if any(not m.group(0)[0].isupper() for m in items):
            continue
        # "Surat, Nagpur and Jaipur": a town that is no given name makes the list one of places.
        if any(m.group(0).lower() in known_place_names() and m.group(0).lower() not in given for m in items):
            continue
        # "Maharashtra Day and Diwali": a named day or a feast makes it a list of holidays.
        if any(a < m.end() and m.start() < b for m in items for a, b in holidays):
            continue
        found = [any(p.start < m.end() and m.start() < p.end for p in people) for m in items]
        known = [known_surname(m.group(0), common) or m.group(0).lower() in given for m in items]
        foreign = [
            not _english(m.group(0).lower(), common)
            and m.group(0).lower() not in not_spread()
            and m.group(0).lower() not in countries
            and m.group(0).lower() not in NOT_NAMES
            for m in items
        ]
        if not all(f or k or o for f, k, o in zip(found, known, foreign, strict=True)) or not any(found + known):
            continue
        following = _NEXT_WORD.match(text, match.end())
        before = text[max(0, match.start() - 10) : match.start()]
        firm = (following is not None and following.group(1).lower() in _FIRM_WORDS) or (
            len(items) >= 3
            and (_FIRM_BEFORE.search(before) is not None or _LINE_END.match(text, match.end()) is not None)
        )
        if re.search(r"\bthe[ \t]*$", before, re.IGNORECASE):
            firm = True
        # "Present: Bhupen, Parvinder and Venkatamma": a list after a label is of people, unless a firm word follows.
        elif before.endswith(":") or before.endswith(": "):
            firm = following is not None and following.group(1).lower() in _FIRM_WORDS
        if firm:
            firms.append((items[0].start(), items[-1].end()))
            continue
        for m in items:
            if not any(a < m.end() and m.start() < b for a, b in taken) and plausible_person(text, m.start(), m.end()):
                added.append(Span(m.start(), m.end(), "PERSON", REPEATED_NAME_SCORE))
    return added, firms


# A line that is only a name, as a signature or a letterhead writes it: two or three capitalised words, maybe with
# an initial ("> Tove K Lindahl"), after quote marks or bullets.
_NAME_LINE = re.compile(
    r"(?m)^[ \t>?*•\-]*(?P<name>[^\W\d_][^\W\d_'’\-]+(?:[ \t]+(?:[A-Z]\.?[ \t]+)?[^\W\d_][^\W\d_'’\-]+){1,2})"
    r"[ \t]*$"
)
_CONTACT = re.compile(r"@|\+?\d[\d ()\-.]{6,}\d|\b(?:phone|mobile|fax|tel|e-?mail|address)\b", re.IGNORECASE)
SIGNATURE_NAME_SCORE = 0.6


def _signature_names(text: str, blocks: list[tuple[int, int]]) -> list[Span]:
    """Names on a line of their own in a text with an address or contact details: a signature or a card ("Tove
    K Lindahl\nSenior buyer\n12 Harbour Road ..."). Every word must be capitalised and none an English word, a
    country or a word of places and organisations ("Asc Partners", "Public Data Explorer" stay)."""
    if not blocks and not _CONTACT.search(text):
        return []
    countries = country_names()
    found: list[Span] = []
    for match in _NAME_LINE.finditer(text):
        words = [w for w in _WORDS.findall(match.group("name")) if len(w) > 1]
        if not all(w[0].isupper() and not w.isupper() for w in words):
            continue
        lowered = [w.lower() for w in words]
        if any(_everyday_word(w) or w in countries or w in PLACE_OR_ORG_WORDS for w in lowered):
            continue
        start, end = match.span("name")
        if not any(a <= start < b for a, b in blocks) and plausible_person(text, start, end):
            found.append(Span(start, end, "PERSON", SIGNATURE_NAME_SCORE))
    return found


# "Ines: Where were you?" - a speaker's name before a colon at the start of a line, as chats and scripts write it.
_SPEAKER = re.compile(r"(?m)^[ \t>]*(?P<name>[^\W\d_][^\W\d_'’]*)[ \t]*:(?=[ \t]*[\"“'‘\w])")


def _speakers(text: str) -> list[Span]:
    """Speakers of a dialogue: at least two lines that start with a word and a colon, each word a given name or a
    word that is not English, and at least one a given name or a known surname. Labels of forms ("Name:", "Phone:",
    "Bot:", "User:") are English words; a glossary of product names ("Redis: a key-value store\nPostgres: the
    database") has no name in it."""
    common, given = built_english_words(), first_names()
    labels = [
        m
        for m in _SPEAKER.finditer(text)
        if m.group("name").lower() in given or not _everyday_word(m.group("name").lower())
    ]
    if len(labels) < 2 or not any(
        m.group("name").lower() in given or known_surname(m.group("name"), common) for m in labels
    ):
        return []
    return [Span(m.start("name"), m.end("name"), "PERSON", REPEATED_NAME_SCORE) for m in labels]


# "Oskari, can you call me?" - a name addressed at the start of a sentence; "Oskari is late, he said" - a
# sentence that starts with a name and goes on about "he" or "she".
_VOCATIVE = re.compile(
    r"(?:^|(?<=[.!?\n]))[ \t\"“]*(?P<name>[^\W\d_][^\W\d_'’\-]+),[ \t]+(?=(?:can|could|would|will|please|do|did|are|"
    r"have|i|you|we|let's|thanks|thank)\b)",
    re.IGNORECASE,
)
_SUBJECT = re.compile(
    r"(?:^|(?<=[.!?\n]))[ \t\"“]*(?P<name>[^\W\d_][^\W\d_'’\-]+)[ \t]+(?=(?:is|was|has|had|will|can|says|said)\b)"
)
_PERSONAL_PRONOUN = re.compile(r"\b(?:he|him|his|she|her|hers|himself|herself)\b", re.IGNORECASE)
PRONOUN_WINDOW = 160


def _addressed_or_referred(text: str) -> list[Span]:
    """A word that is no English word and starts a sentence is a person when it is addressed ("Oskari, can you
    ...") or when what follows refers to it as "he" or "she" ("Oskari was late again; he missed the bus.")."""
    countries = country_names()
    found: list[Span] = []
    for pattern in (_VOCATIVE, _SUBJECT):
        for match in pattern.finditer(text):
            word = match.group("name")
            lowered = word.lower()
            if not word[0].isupper() or _everyday_word(lowered) or lowered in countries:
                continue
            # Sentence adverbs that no word list has ("Intriguingly, we found ..."; "Emily, can you" stays).
            if lowered.endswith("ly") and lowered not in first_names():
                continue
            if pattern is _SUBJECT and not _PERSONAL_PRONOUN.search(text, match.end(), match.end() + PRONOUN_WINDOW):
                continue
            found.append(Span(match.start("name"), match.end("name"), "PERSON", REPEATED_NAME_SCORE))
    return found


# Indian legal and official writing names people by their initials ("N.Laxmamma", "R.S. Ghuraiya", "D.K. Jain, J."),
# by their place in the record ("Pooja Mahajan (PW-1)", "Narasimha Rao-PW.1": prosecution, defence, court
# witnesses), by whom a counsel appears for ("Learned Counsel for Pranab") and by relation ("S/o Hariram").
_CAP_WORD = r"[A-Z][a-z]{2,}"
_INITIALLED = re.compile(rf"(?<![\w.])(?:[A-Z]\.[ \t]?){{1,3}}(?P<words>{_CAP_WORD}(?:[ \t]+{_CAP_WORD})?)\b")
_WITNESS_MARKED = re.compile(
    rf"(?P<name>{_CAP_WORD}(?:[ \t]+{_CAP_WORD}){{0,2}})[ \t]*(?:\([ \t]*|[-–][ \t]*)"
    r"(?:PW|DW|CW|RW)[ \t]*[-.]?[ \t]*\d+"
)
_ROLE_BEFORE = re.compile(
    r"\b(?:counsel|advocate)[ \t]+(?:appearing[ \t]+)?for[ \t]+(?:the[ \t]+)?"
    r"|\b(?:[SDWC]/[Oo]|son[ \t]+of|daughter[ \t]+of|wife[ \t]+of|widow[ \t]+of|husband[ \t]+of)[ \t.:]*",
    re.IGNORECASE,
)
_NAME_AFTER_ROLE = re.compile(
    rf"(?:(?:Shri|Smt|Sri|Late|Mr|Mrs|Ms|Dr)\.?[ \t]+)?(?P<name>{_CAP_WORD}(?:[ \t]+{_CAP_WORD}){{0,2}})"
)
MARKED_NAME_SCORE = 0.7
_NOT_INITIALS = re.compile(
    r"P\.[ \t]?O\.|[A-Z]\.[ \t]?[A-Z][a-z]+(?:straat|strasse|straße|weg|laan|gasse|plein|katu|gatan|vej)\b"
)


def _not_a_name_word(word: str) -> bool:
    lower = word.lower()
    return (
        (
            lower in built_english_words()
            and lower not in first_names()
            and not known_surname(word, built_english_words())
        )
        or lower in PLACE_OR_ORG_WORDS
        or lower in NOT_NAMES
    )


def _marked_names(text: str) -> list[Span]:
    """Names that Indian records mark by initials, witness numbers, counsel or relation (see above)."""
    found: list[Span] = []
    for match in _INITIALLED.finditer(text):
        if _NOT_INITIALS.match(text, match.start()):  # "P.O. Box 149"
            continue
        if not any(_not_a_name_word(w) for w in match.group("words").split()):
            found.append(Span(match.start(), match.end(), "PERSON", MARKED_NAME_SCORE))
    for match in _WITNESS_MARKED.finditer(text):
        words = match.group("name").split()
        while words and _not_a_name_word(words[0]):  # "Witness Pooja Mahajan (PW-1)": the name starts later
            words = words[1:]
        if words:
            start = match.end("name") - len(" ".join(words))
            found.append(Span(start, match.end("name"), "PERSON", MARKED_NAME_SCORE))
    for match in _ROLE_BEFORE.finditer(text):
        name = _NAME_AFTER_ROLE.match(text, match.end())
        if name and not any(_not_a_name_word(w) for w in name.group("name").split()):
            found.append(Span(name.start("name"), name.end("name"), "PERSON", MARKED_NAME_SCORE))
    return found


# Indian orders, FIRs and registers name people by one word, after their role in the case or before what they said
# ("the accused Ritubala", "Hariram stated that ...", "Tarachand, aged 45, ..."). Single words only: spaCy and the
# word lists find longer names, and one word is what they miss.
_ROLE_WORDS = (
    r"accused|complainant|informant|deceased|victim|witness|deponent|petitioner|respondent|appellant|applicant|"
    r"plaintiff|defendant|claimant|opponent|injured|convict|detenu|absconder|employee|worker|labourer|driver|"
    r"conductor|constable|head[ \t]+constable|inspector|sub-inspector|SI|ASI|HC|PC|peon|clerk|tenant|landlord|"
    r"husband|wife|son|daughter|brother|sister|father|mother|nephew|niece|uncle|aunt|grandson|granddaughter"
)
_AFTER_ROLE = re.compile(
    rf"\b(?i:{_ROLE_WORDS})(?:[ \t]+(?i:no)\.?[ \t]*\d+)?[ \t]*[,:]?[ \t]+(?:(?:Shri|Smt|Sri|Mr|Mrs|Ms)\.?[ \t]+)?"
    r"(?P<name>[A-Z][a-z]{2,})\b(?![ \t]+[A-Z][a-z])"
)
_TESTIMONY_VERBS = (
    r"stated|states|deposed|deposes|testified|told|submitted|submits|admitted|denied|alleged|alleges|confessed|"
    r"narrated|informed|complained|identified|lodged|(?:has|had|further|also|then)[ \t]+(?:stated|deposed|told|"
    r"submitted|admitted|denied|identified)"
)
# What only a person does, right after a single word: "... and Hariram came to the office".
_PERSON_ACTIONS = r"came|went|arrived|reached|returned|attended|visited|fled|ran[ \t]+away"
_BEFORE_MARKER = re.compile(
    r"(?<![\w.’'\-])(?P<name>[A-Z][a-z]{2,})(?:,[ \t]*(?:aged|age)[ \t]+(?:about[ \t]+)?\d{1,3}\b"
    r"|,?[ \t]+(?:[SDWR]/[Oo]|resident[ \t]+of)\b"
    rf"|[ \t]+(?:{_TESTIMONY_VERBS}|{_PERSON_ACTIONS})\b)"
)
# Two single words joined by "and" before what people do ("Hariram and Tarachand came to the office").
_ACTION_VERBS = (
    r"came|went|were|was|attended|met|arrived|left|reached|ran|fled|visited|joined|signed|agreed|said|told|"
    r"stated|deposed|returned|appeared|quarrelled|fought|married|worked|lived|died|complained|refused"
)
_PAIR_BEFORE_ACTION = re.compile(
    r"(?<![\w.’'\-])(?P<a>[A-Z][a-z]{2,})[ \t]+and[ \t]+(?P<b>[A-Z][a-z]{2,})[ \t]+(?:" + _ACTION_VERBS + r")\b"
)
CONTEXT_NAME_SCORE = 0.6


_CAPITALISED_BEFORE = re.compile(r"[A-Z][\w.&’'\-]*[ \t]+\Z")


def _lone_name_word(word: str) -> bool:
    """A capitalised word that can be a name on its own: no English, stop or place word, no town, no country."""
    lower = word.lower()
    if lower in not_spread() or lower in known_place_names() or _not_a_name_word(word):
        return False
    return not _english(lower, built_english_words()) or lower in first_names()


def _people_by_context(text: str) -> list[Span]:
    """Single-word names that a role before them or a testimony, age or residence after them marks (see above)."""
    found = [
        match.span("name")
        for match in _AFTER_ROLE.finditer(text)
        if _lone_name_word(match.group("name")) or match.group("name").lower() in first_names()
    ]
    found += [
        match.span("name")
        for match in _BEFORE_MARKER.finditer(text)
        if _lone_name_word(match.group("name"))
        # "Tata Motors stated": the last word of a longer name is no name of its own.
        and not _CAPITALISED_BEFORE.search(text, max(0, match.start() - 30), match.start())
    ]
    for match in _PAIR_BEFORE_ACTION.finditer(text):
        if _lone_name_word(match.group("a")) and _lone_name_word(match.group("b")):
            found += [match.span("a"), match.span("b")]
    return [Span(start, end, "PERSON", CONTEXT_NAME_SCORE) for start, end in found]


_PLACE_CONTEXT_BEFORE = re.compile(
    r"\b(?:in|at|on|the|from|near|via|around|outside|along|across|into|towards?|resident[ \t]+of|native[ \t]+of|"
    r"village|district|town|city)[ \t]+\Z",
    re.IGNORECASE,
)


def _may_be_a_person(text: str, span: Span, types: frozenset[str] = frozenset({"LOCATION"})) -> bool:
    """A single capitalised word that spaCy calls a place, that no list knows as a place and that no word around it
    makes one ("resident of Jaipur", "in Kamal", "Krishna river")."""
    if span.entity_type not in types:
        return False
    value = text[span.start : span.end]
    if not (value.isalpha() and value.istitle()) or value.lower() in known_place_names():
        return False
    if _PLACE_CONTEXT_BEFORE.search(text, max(0, span.start - 12), span.start):
        return False
    return not (_PLACE_WORD_AFTER.match(text, span.end) or _WORD_AFTER_IS_PLACE.match(text, span.end))


def _a_person_not_a_place(text: str, span: Span, hinted: list[Span]) -> bool:
    """Such a word that is a given name of India's ("Hariram and Tarachand came"), or a place or an organisation
    of spaCy's that a role or testimony marks ("the accused Ritubala"). A given name that spaCy calls an
    organisation stays one ("Mahindra", "Maruti")."""
    if any((h.start, h.end) == (span.start, span.end) for h in hinted):
        return _may_be_a_person(text, span, frozenset({"LOCATION", "ORGANIZATION"}))
    return _may_be_a_person(text, span) and text[span.start : span.end].lower() in indian_given_names()


_WORD_AFTER_IS_PLACE = re.compile(r"[ \t]+(?:" + "|".join(sorted(PLACE_OR_ORG_WORDS)) + r")\b", re.IGNORECASE)
