"""Person names the small spaCy model misses: Indian names, honorifics, and labelled form fields.

en_core_web_sm was trained mostly on Western news text: it finds "Sarah Johnson" but often not "Kavya Iyer" or
"Shri Ramesh Yadav". This recognizer adds three signals, each cheap (regular expressions, no model):
- an honorific or relation marker (Mr, Dr, Shri, Smt, S/o, W/o ...) before capitalised words;
- a form label (Name:, Applicant:, Nominee: ...) before capitalised words;
- capitalised word runs containing a common Indian given name or surname.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from typing import Any

from cleanroom.pii.places import indian_city_names

GIVEN_NAMES = frozenset(
    """
    aarav aaditya aadhya aakash abhay abhishek aditi aditya agastya ajay ajit akash akhil akshay alok amar amit
    amita amrita anand ananya anil anita anjali ankit ankita anupam anuradha anushka aparna archana arjun arun
    aruna arvind asha ashok ashwin atul ayesha bhavna bhavya chandra chetan darshan deepa deepak deepika devendra
    dhruv dinesh divya durga farhan fatima ganesh gaurav geeta girish gita gopal govind gurpreet harish harjeet
    harpreet hema hemant imran indira irfan ishaan ishita jagdish jaya jayant jyoti kabir kajal kalpana kamal
    kamala karan karthik kavita kavya keshav kiran krishna kunal lakshmi lalit lata madhav madhu mahesh manish
    manoj meena meera mohan mohini mukesh nandini naresh naveen neha nikhil nilesh nisha nitin pallavi pankaj
    parvati pooja prakash pranav prasad pratik praveen preeti priya priyanka rahul raj rajesh rajiv rakesh ramesh
    rani ravi rekha rohan rohit rupa sachin sagar sahil sameer sandeep sanjay sanjana santosh sarita satish
    seema shalini shanti sharmila shekhar shilpa shiv shreya shweta siddharth simran sneha sonal sonia srinivas
    subhash sudha sudhir sujata sumit sunil sunita suresh sushma swati tanvi tarun uma usha varun vijay vikas
    vikram vinay vinod vishal vivek yash yogesh zoya mohammed mohammad mohd syed venkatesh lakshman narayan
    raghav ritu savita bharat gautam hari jitendra kishore mahendra rajendra rajkumar ramakrishna shankar
    """.split()
)

SURNAMES = frozenset(
    """
    agarwal aggarwal ahmed ahuja ansari arora bajaj banerjee bansal basu bhatt bhattacharya bhatia bose chandra
    chatterjee chaudhary chauhan chopra das dasgupta desai deshmukh deshpande dey dhillon dixit dubey dutta gandhi
    ghosh gill goel goswami gupta hegde iyer iyengar jain jha joshi kapoor kaur khan khanna kulkarni kumar
    malhotra mehta menon mishra mukherjee nair naidu narayanan nayak pandey patel patil pillai prasad qureshi rao
    rathore reddy roy saxena sen sethi shah sharma shetty shukla singh sinha srivastava subramanian tiwari
    trivedi varma verma yadav bhat chakraborty chowdhury devi ganguly kohli krishnan mahajan murthy naik pandit
    parekh pathak rajput rastogi sahni shastri sood talwar thakur tripathi upadhyay venkatesan vyas
    """.split()
)

HONORIFICS = r"Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Shri|Sri|Smt|Shrimati|Kumari|Km|Sh|Sushri|Justice|Adv|Er|Capt|Col|Maj|Lt"
RELATIONS = r"S/o|D/o|W/o|C/o|son of|daughter of|wife of|husband of|care of"
FIELD_LABELS = (
    r"name|full name|applicant|applicant name|patient|patient name|customer|customer name|account holder|"
    r"borrower|guarantor|nominee|beneficiary|employee|employee name|father'?s name|mother'?s name|"
    r"spouse|spouse name|guardian|signed by|signatory|contact person|attn|attention"
)

# Latin letters with their accents, so that "Đurđević" and "Wróblewska" are one word (Latin Extended-A mixes
# capitals and small letters; a word's first letter is checked for case where it matters).
_UPPER = "A-ZÀ-ÖØ-ÞĀ-Ž"
_LOWER = "a-zß-öø-ÿĀ-ž"
_WORD = rf"[{_UPPER}][{_LOWER}]+(?:[-'][{_UPPER}]?[{_LOWER}]+)?"
# Names never span lines: "Applicant: Mohan Lal\nDate: ..." must not swallow "Date".
_NAME_RUN = rf"{_WORD}(?:[ \t]+(?:[A-Z]\.[ \t]*)?{_WORD}){{0,3}}"

_AFTER_HONORIFIC = re.compile(rf"\b(?:{HONORIFICS})\.?[ \t]+(?P<name>{_NAME_RUN})")
_AFTER_RELATION = re.compile(rf"\b(?:{RELATIONS})\.?[ \t]+(?:(?:{HONORIFICS})\.?[ \t]+)?(?P<name>{_NAME_RUN})")
_AFTER_LABEL = re.compile(rf"(?im)\b(?:{FIELD_LABELS})[ \t]*[:\-–][ \t]*(?-i:(?P<name>{_NAME_RUN}))")
_CAPITALISED_RUN = re.compile(rf"\b{_NAME_RUN}\b")
_HONORIFIC_ONLY = re.compile(rf"(?:{HONORIFICS})\.?")
# "Iyer, Kavya": surname first, as registers and forms list people.
_SURNAME_FIRST = re.compile(rf"\b({_WORD}),[ \t]+({_WORD})\b")
# Forms often write names in capitals: "RAMESH KUMAR YADAV".
_UPPER_RUN = re.compile(r"\b[A-Z]{2,}(?:[ \t]+[A-Z]{2,}){1,3}\b")
# Phrases that introduce a name in letters, chats and tickets ("My name is Rubija", "Dear Siiri", "called Lily Nolan").
_AFTER_PHRASE = re.compile(
    rf"(?i:\b(?:my name is|my name's|name on the account is|call me|dear|hi|hello|named|called|"
    rf"speak (?:to|with)|talk to|follow up with|forward(?:ed)? (?:it |this |the file )?to|thanks|regards|sincerely|"
    rf"(?:first |last |full |maiden |middle )?name\?))"
    rf",?[ \t]+(?P<name>{_NAME_RUN})"
)
# After the strongest phrases, a name counts even in lower case ("my name is vitoria", "people call me višeslav").
_LOWER_WORD = r"[^\W\d_][^\W\d_'-]+"
_AFTER_STRONG_PHRASE = re.compile(
    rf"(?i)\b(?:my name is|my name's|call me|calls me|(?:first|last|maiden|middle) name is)[ \t]+"
    rf"(?P<name>{_LOWER_WORD}(?:[ \t]+{_LOWER_WORD})?)"
)

HONORIFIC_SCORE = 0.85
LABEL_SCORE = 0.85
GAZETTEER_SCORE = 0.75
SINGLE_NAME_SCORE = 0.6
PHRASE_SCORE = 0.7
_NOT_A_NAME_AFTER_PHRASE = frozenset(
    "a an the and or but back later tomorrow today now please when if at on in by for to from with is was "
    "not sir madam so too again anytime".split()
)


def _known(word: str) -> tuple[bool, bool]:
    lowered = word.lower().strip(".'")
    return lowered in GIVEN_NAMES, lowered in SURNAMES


def find_names(text: str) -> list[tuple[int, int, float]]:
    """(start, end, score) of likely person names. Pure: regular expressions and word lists only."""
    found: list[tuple[int, int, float]] = []
    for pattern, score in (
        (_AFTER_HONORIFIC, HONORIFIC_SCORE),
        (_AFTER_RELATION, HONORIFIC_SCORE),
        (_AFTER_LABEL, LABEL_SCORE),
        (_AFTER_PHRASE, PHRASE_SCORE),
    ):
        found.extend((match.start("name"), match.end("name"), score) for match in pattern.finditer(text))
    for match in _AFTER_STRONG_PHRASE.finditer(text):
        words = match.group("name").split()
        while words and words[-1].lower() in _NOT_A_NAME_AFTER_PHRASE:
            words.pop()
        if words and words[0].lower() not in _NOT_A_NAME_AFTER_PHRASE:
            start = match.start("name")
            found.append((start, start + len(" ".join(words)) if len(words) == 1 else match.end("name"), PHRASE_SCORE))
    for match in _CAPITALISED_RUN.finditer(text):
        words = match.group(0).split()
        flags = [_known(word) for word in words]
        if len(words) >= 2 and any(given or surname for given, surname in flags):
            found.append((match.start(), match.end(), GAZETTEER_SCORE))
        elif len(words) == 1 and flags[0][0]:
            found.append((match.start(), match.end(), SINGLE_NAME_SCORE))
    for match in _SURNAME_FIRST.finditer(text):
        surname, given = match.group(1), match.group(2)
        if given.lower() in first_names() and surname.lower() not in NOT_NAMES | PLACE_OR_ORG_WORDS:
            found.append((match.start(), match.end(), GAZETTEER_SCORE))
    for match in _UPPER_RUN.finditer(text):
        words = [word.lower() for word in match.group(0).split()]
        if any(any(_known(word)) or word in first_names() for word in words):
            found.append((match.start(), match.end(), GAZETTEER_SCORE))
    # "Applicant: Mr. Rao" - the label pattern stops at the honorific's dot; the honorific pattern has the name.
    found = [(start, end, score) for start, end, score in found if not _HONORIFIC_ONLY.fullmatch(text[start:end])]
    return [_across_line_break(text, start, end, score) for start, end, score in found]


_NEXT_LINE_WORD = re.compile(rf"[ \t]*\r?\n[ \t]*({_WORD})")


def _across_line_break(text: str, start: int, end: int, score: float) -> tuple[int, int, float]:
    """PDF text breaks lines anywhere, also inside a name ("Anita\nDesai"): carry the span over a line break
    when the next line starts with a known name."""
    match = _NEXT_LINE_WORD.match(text, end)
    if match and any(_known(match.group(1))):
        end = match.end(1)
    return start, end, score


def _person_results(recognizer: Any, spans: list[tuple[int, int, float]]) -> list[Any]:
    """Presidio results for PERSON spans found by one of this module's recognizers."""
    from presidio_analyzer import RecognizerResult

    metadata = {
        RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
        RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
    }
    return [
        RecognizerResult(
            entity_type="PERSON",
            start=start,
            end=end,
            score=score,
            recognition_metadata=dict(metadata),
        )
        for start, end, score in spans
    ]


def indic_name_recognizer() -> Any:
    """A Presidio recognizer around find_names. Presidio is imported here, not at module level: it pulls in
    torch and transformers, which every management command and web start-up would otherwise pay for."""
    from presidio_analyzer import EntityRecognizer, RecognizerResult

    class IndicNameRecognizer(EntityRecognizer):
        def __init__(self) -> None:
            super().__init__(supported_entities=["PERSON"], name="IndicNameRecognizer", supported_language="en")

        def load(self) -> None:
            pass

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
            if "PERSON" not in entities:
                return []
            return _person_results(self, find_names(text))

    return IndicNameRecognizer()


# Capitalised words that are given names somewhere but mostly mean something else in English documents.
NOT_NAMES = frozenset(
    """
    sir madam madame team all customer customers user users client sales support admin staff manager director
    will may june july april august march sunday monday friday christmas easter god lord love hope faith grace joy
    mark bill art guy dean page chase hunter king prince star rose river lake sky summer autumn winter spring
    young white black green brown gray grey gold silver crystal amber ruby pearl jade ivy holly iris lily daisy
    the and van von de del della der den di da le la el al bin ten san santa new north south east west city
    street road avenue lane court park hill hall house office bank united china india georgia virginia carolina
    paris london sydney dallas austin houston phoenix orlando jackson madison washington lincoln victoria
    indian english french german russian japanese chinese american british european african asian christian
    muslim hindu jewish catholic buddhist doctor nurse patient applicant captain major general colonel
    """.split()
)
# Words after a given name that make it a place, institution or event: "Krishna river", "Ganesh Chaturthi".
PLACE_OR_ORG_WORDS = frozenset(
    """
    river lake nagar road rd street st marg lane avenue ave colony layout district taluk temple mandir masjid
    church college university school institute hospital clinic bank bridge valley hills hill park stadium
    airport station express festival jayanti chaturthi puja utsav mela trust foundation society ltd limited inc
    llc corp corporation company co group orchestra band associates partners industries enterprises traders
    motors pharma labs solutions services systems technologies tech hotel restaurant cafe mall market bazaar
    square plaza tower towers building apartments estate city town village county state province
    """.split()
)
# Festivals that spaCy reads as people ("at the Eid fair", "the Diwali bonus").
FESTIVALS = frozenset(
    """
    eid diwali deepavali holi dussehra dasara navratri navaratri pongal onam baisakhi vaisakhi lohri ugadi bihu
    janmashtami ramzan ramadan muharram bakrid chhath sankranti gurpurab mubarak fitr adha christmas easter
    shivratri mahashivratri navroz nowruz bandhan ganeshotsav hanukkah thanksgiving
    """.split()
)
# Words that end the name of a day or a feast ("Republic Day", "Christmas Eve", "Gandhi Jayanti", "Ram Navami",
# "Buddha Purnima", "Durga Puja"). "Day" and "Eve" are also a surname and a given name: see find_holidays.
_NAMED_DAY_ENDS = ("Day", "Eve")
_FEAST_ENDS = ("Jayanti", "Chaturthi", "Navami", "Ashtami", "Purnima", "Panchami", "Ekadashi", "Puja", "Utsav")
_CAP_WORD_OR_POSSESSIVE = rf"[{_UPPER}][{_LOWER}]+(?:['’]s|s['’])?"
_NAMED_DAY = re.compile(rf"\b(?P<lead>(?:{_CAP_WORD_OR_POSSESSIVE}[ \t]+){{1,3}})(?:{'|'.join(_NAMED_DAY_ENDS)})\b")
# Also given names ("Jayanti", "Puja"): a feast only after another word. A festival stands alone ("Diwali"), but
# not "Mubarak" (a name too: "Eid Mubarak" is found by its "Eid").
_FEAST = re.compile(rf"\b(?:{_WORD}[ \t]+){{1,2}}(?:{'|'.join(_FEAST_ENDS)})\b")
_FESTIVAL = re.compile(
    rf"\b(?:{_WORD}[ \t]+){{0,2}}(?:{'|'.join(sorted(w.title() for w in FESTIVALS - {'mubarak'}))})\b"
    rf"(?![-'’][{_UPPER}])"
)
_FEAST_WEEKDAY = re.compile(
    r"\b(?:Good|Holy|Maundy|Easter|Ash|Palm|Whit)[ \t]+(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
)
_HONORIFIC_WORD = re.compile(rf"(?:{HONORIFICS})")
_LITTLE_WORDS = frozenset("the a an and of for to in on at by this next last every each".split())


def find_holidays(text: str) -> list[tuple[int, int]]:
    """(start, end) of named days, holidays and festivals: "Republic Day", "Maharashtra Day", "New Year's Eve",
    "Gandhi Jayanti", "Guru Nanak Jayanti", "Diwali", "Good Friday". Before "Day" or "Eve" the words count from the
    end back to the first given name or honorific: "Doris Day" and "Mr Day" are people, "Valentine's Day" is not
    (a possessive is never a given name here). Words before a feast ("Ram Navami") may be given names: gods and
    saints give feasts their names."""
    found: list[tuple[int, int]] = []
    for match in _NAMED_DAY.finditer(text):
        lead = list(re.finditer(r"\S+", match.group("lead")))
        start = match.end()
        for word in reversed(lead):
            value = word.group(0)
            bare = value.lower().rstrip("'’s") if value[-2:] in ("'s", "’s") or value[-1] in "'’" else value.lower()
            possessive = bare != value.lower()
            if _HONORIFIC_WORD.fullmatch(value) or bare in _LITTLE_WORDS or (not possessive and bare in first_names()):
                break
            start = match.start("lead") + word.start()
        if start < match.end() - 3:
            found.append((start, match.end()))
    for pattern in (_FEAST, _FESTIVAL, _FEAST_WEEKDAY):
        for match in pattern.finditer(text):
            words = match.group(0).split()
            while len(words) > 1 and (_HONORIFIC_WORD.fullmatch(words[0]) or words[0].lower() in _LITTLE_WORDS):
                words.pop(0)
            found.append((match.end() - len(" ".join(words)), match.end()))
    return sorted(found)


# Indian titles of rank, office and caste that stand for someone without naming them: "the Thakur's well", "the
# Zamindar", "Thakur Sahib". Several are also surnames or given names ("Thakur", "Raja"), hence only after "the" or
# when every word of the "name" is one.
TITLES = frozenset(
    """
    thakur zamindar raja maharaja rani maharani nawab begum sahib sahab saheb sardar chaudhary chaudhari chowdhury
    choudhary pandit maulvi munshi mukhiya sarpanch patwari lala seth babu thanedar jamadar subedar havildar mahant
    pujari ji
    """.split()
)
_NOT_SURNAMES = PLACE_OR_ORG_WORDS | frozenset(
    "january february march april may june july august september october november december monday tuesday "
    "wednesday thursday friday saturday sunday the and of for to in on at".split()
)
PARTICLES = frozenset("van von de del della der den di da du la le ten ter bin binti al el dos das".split())
FIRST_NAME_SCORE = 0.7
SINGLE_FIRST_NAME_SCORE = 0.55


@cache
def indian_given_names() -> frozenset[str]:
    """Our own list of Indian given names, without towns ("Surat" stays a town). A far larger list exists on PyPI
    (names-dataset), but it was extracted from the 2021 leak of 533 million Facebook accounts: a clean room does
    not ship data taken from a breach, so single names without a marker are found by the contextual rules in
    span_filters.py instead."""
    return frozenset(GIVEN_NAMES - indian_city_names())


@cache
def first_names() -> frozenset[str]:
    """Given names from many countries: gender-guesser's dictionary (about 48,000 names from 50+ countries, India
    included), the Indian given names and our own list, without English stop words and common words."""
    from gender_guesser.detector import Detector
    from spacy.lang.en.stop_words import STOP_WORDS

    names = {name for name in Detector(case_sensitive=False).names if name.isalpha() and len(name) > 1}
    return frozenset((names | indian_given_names()) - STOP_WORDS - NOT_NAMES - PLACE_OR_ORG_WORDS)


@cache
def surname_ranks() -> dict[str, int]:
    """Surnames of the US census (1990, 88,799 of them, from the `names` package), by rank (1 is the most common).
    Immigration made it international: "Fuentes", "Nakamura", "Kowalski" are there. Its tail also has
    ordinary words ("Station", "Cancer"), hence the rank limit for words that are also English words."""
    table = files("names").joinpath("dist.all.last").read_text(encoding="ascii")
    return {fields[0].lower(): int(fields[3]) for fields in map(str.split, table.splitlines()) if len(fields) == 4}


@cache
def census_given_names() -> frozenset[str]:
    """The 5,000 given names of the same census (the `names` package), fewer and more common than gender-guesser's:
    "naomi", "ryan", not "tea" or "line"."""
    table = "\n".join(
        files("names").joinpath(f"dist.{sex}.first").read_text(encoding="ascii") for sex in ("male", "female")
    )
    return frozenset(line.split()[0].lower() for line in table.splitlines() if line.strip()) - NOT_NAMES


# Surnames up to this rank count even when they are English words ("Young", "Hunter", "Baker"); past it only
# words that are not English ("Wisdom" is 5,844th; "Station" 77,738th).
COMMON_SURNAME_RANK = 10_000
# gender-guesser's frequency level (1 to 13) from which a given name is common in some country.
COMMON_GIVEN_NAME_LEVEL = 5


def known_surname(word: str, common_words: frozenset[str] = frozenset()) -> bool:
    rank = surname_ranks().get(word.lower())
    return rank is not None and (rank <= COMMON_SURNAME_RANK or word.lower() not in common_words)


@cache
def name_popularity() -> dict[str, int]:
    """How common each given name is where it is most common: gender-guesser's frequency scale (1 rare to 13
    very common) in the country where it is highest. Our own Indian names count as common."""
    from gender_guesser.detector import Detector

    scale = "123456789ABCD"
    popularity: dict[str, int] = {}
    for name, by_gender in Detector(case_sensitive=False).names.items():
        levels = [scale.index(ch) + 1 for values in by_gender.values() for ch in values if ch in scale]
        popularity[name] = max(levels, default=0)
    return popularity | dict.fromkeys(GIVEN_NAMES, len(scale))


def _is_name_word(token: Any) -> bool:
    return token.is_alpha and (token.is_title or (token.is_upper and len(token) > 1)) and "\n" not in token.text


def _is_initial(token: Any) -> bool:
    text = token.text.rstrip(".")
    return len(text) == 1 and text.isupper()


def find_given_name_runs(doc: Any, common_words: frozenset[str] = frozenset()) -> list[tuple[int, int, float]]:
    """(start, end, score) of runs that start with a known given name, on a spaCy Doc: "Szabina J Gelencsér",
    "Tomomi Nishiyama", "Willemine ten Pas". No part-of-speech tags (the tagger is not run): the list of words that
    are not names (NOT_NAMES) keeps "May" (the month) and "Will" out."""
    names = first_names()
    found: list[tuple[int, int, float]] = []
    i, n = 0, len(doc)
    while i < n:
        token = doc[i]
        if not (_is_name_word(token) and token.lower_ in names):
            i += 1
            continue
        j = i + 1
        while j < n and j - i < 5 and "\n" not in doc[j - 1].whitespace_:
            nxt = doc[j]
            # After a given name, any capitalised word continues it ("Zoe Young", "Djevad Šušulić"), whatever
            # its tag: spaCy tags unfamiliar surnames as nouns, verbs or foreign words.
            if _is_name_word(nxt) and nxt.lower_ not in _NOT_SURNAMES:
                j += 1
            elif _is_initial(nxt) or (nxt.text == "." and j - 1 > i and len(doc[j - 1]) == 1):
                j += 1
            elif nxt.lower_ in PARTICLES and j + 1 < n and _is_name_word(doc[j + 1]):
                j += 2
            else:
                break
        # South Indian style puts initials first: "V. Shalini", "K. R. Narayanan".
        while i > 0 and _is_initial(doc[i - 1]) and "\n" not in doc[i - 1].whitespace_:
            i -= 1
        # Trailing initials or dots belong to the next sentence, not the name.
        while j - 1 > i and (doc[j - 1].text == "." or len(doc[j - 1].text.rstrip(".")) == 1):
            j -= 1
        words = [t.lower_ for t in doc[i:j] if t.is_alpha and len(t) > 1]
        following = doc[j].lower_ if j < n else ""
        # A run of English words that starts with a given name ("Long Island", "Gene Ontology") is no name; spaCy's
        # own NER still finds "Mary Smith". A lone given name stays (privacy first), unless it is an acronym.
        # ... unless it has an initial ("Rose T Hill") or a common given name comes before a known surname ("Marina
        # Fuentes").
        ordinary = (
            len(words) > 1
            and all(word in common_words for word in words)
            and not any(_is_initial(t) for t in doc[i:j])
            and not (
                name_popularity().get(words[0], 0) >= COMMON_GIVEN_NAME_LEVEL and known_surname(words[-1], common_words)
            )
        )
        acronym = j - i == 1 and doc[i].is_upper
        if not (ordinary or acronym or set(words) & PLACE_OR_ORG_WORDS or following in PLACE_OR_ORG_WORDS):
            score = FIRST_NAME_SCORE if j - i > 1 else SINGLE_FIRST_NAME_SCORE
            found.append((doc[i].idx, doc[j - 1].idx + len(doc[j - 1]), score))
        i = j
    return found


LOWER_CASE_NAME_SCORE = 0.5
SURNAME_SHAPED_SCORE = 0.6
# Endings of surnames in Slavic, Nordic, Finnish, Greek, Romanian and Georgian ("Nowakowska", "Petrović",
# "Sigurdsson", "Virtanen", "Papadopoulos", "Ionescu", "Beridze").
_SURNAME_ENDING = re.compile(
    r"(?:ová|ova|eva|ovna|evna|ski|ska|sky|ský|cki|cka|wicz|vich|vić|ić|ič|sson|dóttir|dottir|poulos|escu|enko|"
    r"czyk|shvili|idze|nen)$"
)


def find_surname_shaped_names(doc: Any, common_words: frozenset[str] = frozenset()) -> list[tuple[int, int, float]]:
    """Two capitalised words that are no English words, the second shaped like a surname ("Zdravka Petrović",
    "Aurelija Kazlauskaitė" not: no ending known) or a common surname of the census ("Oriol Cazorla"), standing
    alone (no capitalised word just before or after, which would make them part of a longer proper name)."""

    def plain(token: Any) -> bool:
        word = token.lower_
        return (
            token.is_alpha
            and token.is_title
            and len(word) > 2
            and word not in common_words
            and not (word.endswith("s") and word[:-1] in common_words)
            and not token.is_stop
            and word not in NOT_NAMES
            and word not in _NOT_SURNAMES
        )

    found: list[tuple[int, int, float]] = []
    n = len(doc)
    for i in range(n - 1):
        first, second = doc[i], doc[i + 1]
        if "\n" in first.whitespace_ or not (plain(first) and plain(second)):
            continue
        rank = surname_ranks().get(second.lower_)
        if not (_SURNAME_ENDING.search(second.lower_) and len(second) > 4) and not (
            rank and rank <= COMMON_SURNAME_RANK
        ):
            continue
        if (i > 0 and doc[i - 1].is_title and "\n" not in doc[i - 1].whitespace_) or (
            i + 2 < n and doc[i + 2].is_title and "\n" not in second.whitespace_
        ):
            continue
        found.append((first.idx, second.idx + len(second), SURNAME_SHAPED_SCORE))
    return found


def find_lower_case_names(doc: Any, common_words: frozenset[str] = frozenset()) -> list[tuple[int, int, float]]:
    """Names typed in lower case, as chats and quick notes do: one of the census's given names, maybe an initial,
    then a known surname ("follow up with naomi k garcia", "anna kowalczyk wrote"); when both are English words
    ("ray", "long"), neither may be. Scientific text has many lower-case pairs ("urban areas", "novo
    methylation", "long reads"): these conditions keep them out."""
    from spacy.lang.en.stop_words import STOP_WORDS

    names = census_given_names()
    found: list[tuple[int, int, float]] = []
    n = len(doc)
    for i, token in enumerate(doc):
        if not (token.is_lower and token.is_alpha and token.lower_ in names) or "\n" in token.whitespace_:
            continue
        if len(token) < 3 or token.is_stop:
            continue
        j = i + 1
        if j + 1 < n and len(doc[j]) == 1 and doc[j].is_alpha and doc[j].is_lower and "\n" not in doc[j].whitespace_:
            j += 1
        if j >= n:
            continue
        surname = doc[j]
        word = surname.lower_
        if not (surname.is_lower and surname.is_alpha and len(word) > 2) or word in STOP_WORDS:
            continue
        english = word in common_words or (word.endswith("s") and word[:-1] in common_words)
        # "naomi ryan", "anna kowalczyk"; not "ray scattering", "urban areas".
        if not known_surname(word, common_words) or (english and token.lower_ in common_words):
            continue
        found.append((token.idx, surname.idx + len(surname), LOWER_CASE_NAME_SCORE))
    return found


def given_name_recognizer(common_words: frozenset[str] = frozenset()) -> Any:
    """`common_words`: English words (the lemmatizer's WordNet index) that a lone given name must not be."""
    from presidio_analyzer import EntityRecognizer, RecognizerResult

    class GivenNameRecognizer(EntityRecognizer):
        def __init__(self) -> None:
            super().__init__(supported_entities=["PERSON"], name="GivenNameRecognizer", supported_language="en")

        def load(self) -> None:
            first_names()

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
            if "PERSON" not in entities or nlp_artifacts is None or nlp_artifacts.tokens is None:
                return []
            doc = nlp_artifacts.tokens
            return _person_results(
                self,
                find_given_name_runs(doc, common_words)
                + find_lower_case_names(doc, common_words)
                + find_surname_shaped_names(doc, common_words),
            )

    return GivenNameRecognizer()


_HOUSE_NUMBER_BEFORE = re.compile(r"\b\d[\dA-Za-z/\-]*[ \t]+$")
# "Accused No. 2 Bhuralal", "Respondent No.3 Kamla": the number is the party's, not a house's.
_PARTY_NUMBER_BEFORE = re.compile(
    r"(?i:\b(?:accused|respondent|petitioner|appellant|witness|defendant|plaintiff|"
    r"opponent|applicant)[ \t]+no)\.?[ \t]*\d+[ \t]+$"
)
_NUMBER_AFTER = re.compile(r"^[ \t]+\d{1,5}\b(?![\d \t]*\d{5})")
_WORD_AFTER = re.compile(r"^[ \t]+([^\W\d_]+)")
# Street words of other languages that follow a street's name: "Király u. 15", "Villacher Strasse 89".
_STREET_WORDS = PLACE_OR_ORG_WORDS | frozenset(
    "u utca ul str strasse straße gade vej katu tie tér via rua calle".split()
    # Street types of the US postal standard that are rarely surnames ("Philip Bypass", "Rennie Union").
    + """bypass turnpike route radial crossroad crossroads gateway loop mall parkway expressway freeway highway
    motorway causeway courts heights junction isle harbor harbour rapids estates meadows stravenue viaduct overpass
    underpass trafficway throughway skyway spur vista mews crescent terrace alley arcade circle circles orchard
    knoll knolls summit union unions pass cove coves squares plains ranch ridges shoals villages ville""".split()
)


def plausible_person(text: str, start: int, end: int) -> bool:
    """False for a "name" that is a street or an institution by its neighbours: a house number before it
    ("14 Crown Street"), a number or a street word after it ("Franscini 71", "Krishna river"), a short all-capitals
    code ("AP")."""
    value = text[start:end]
    if any(ch.isdigit() for ch in value) or (value.isupper() and len(value.replace(" ", "")) <= 3):
        return False
    before = text[max(0, start - 24) : start]
    if _HOUSE_NUMBER_BEFORE.search(before[-12:]) and not _PARTY_NUMBER_BEFORE.search(before):
        return False
    after = text[end : end + 40]
    if _NUMBER_AFTER.match(after):
        return False
    words = value.lower().split()
    following = _WORD_AFTER.match(after)
    return not (
        (words and words[-1].strip(".") in _STREET_WORDS) or (following and following.group(1).lower() in _STREET_WORDS)
    )
