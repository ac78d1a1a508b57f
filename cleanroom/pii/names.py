"""Person names the small spaCy model misses: Indian names, honorifics, and labelled form fields.

en_core_web_sm was trained mostly on Western news text: it finds "Sarah Johnson" but often not "Kavya Iyer" or
"Shri Ramesh Yadav". This recognizer adds three signals, each cheap (regular expressions, no model):
- an honorific or relation marker (Mr, Dr, Shri, Smt, S/o, W/o ...) before capitalised words;
- a form label (Name:, Applicant:, Nominee: ...) before capitalised words;
- capitalised word runs containing a common Indian given name or surname.
"""

from __future__ import annotations

import re
from typing import Any

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

_WORD = r"[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?"
# Names never span lines: "Applicant: Mohan Lal\nDate: ..." must not swallow "Date".
_NAME_RUN = rf"{_WORD}(?:[ \t]+(?:[A-Z]\.[ \t]*)?{_WORD}){{0,3}}"

_AFTER_HONORIFIC = re.compile(rf"\b(?:{HONORIFICS})\.?[ \t]+(?P<name>{_NAME_RUN})")
_AFTER_RELATION = re.compile(rf"\b(?:{RELATIONS})\.?[ \t]+(?:(?:{HONORIFICS})\.?[ \t]+)?(?P<name>{_NAME_RUN})")
_AFTER_LABEL = re.compile(rf"(?im)\b(?:{FIELD_LABELS})[ \t]*[:\-–][ \t]*(?-i:(?P<name>{_NAME_RUN}))")
_CAPITALISED_RUN = re.compile(rf"\b{_NAME_RUN}\b")

HONORIFIC_SCORE = 0.85
LABEL_SCORE = 0.85
GAZETTEER_SCORE = 0.75
SINGLE_NAME_SCORE = 0.6


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
    ):
        found.extend((match.start("name"), match.end("name"), score) for match in pattern.finditer(text))
    for match in _CAPITALISED_RUN.finditer(text):
        words = match.group(0).split()
        flags = [_known(word) for word in words]
        if len(words) >= 2 and any(given or surname for given, surname in flags):
            found.append((match.start(), match.end(), GAZETTEER_SCORE))
        elif len(words) == 1 and flags[0][0]:
            found.append((match.start(), match.end(), SINGLE_NAME_SCORE))
    return [_across_line_break(text, start, end, score) for start, end, score in found]


_NEXT_LINE_WORD = re.compile(rf"[ \t]*\r?\n[ \t]*({_WORD})")


def _across_line_break(text: str, start: int, end: int, score: float) -> tuple[int, int, float]:
    """PDF text breaks lines anywhere, also inside a name ("Anita\nDesai"): carry the span over a line break
    when the next line starts with a known name."""
    match = _NEXT_LINE_WORD.match(text, end)
    if match and any(_known(match.group(1))):
        end = match.end(1)
    return start, end, score


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
            return [
                RecognizerResult(
                    entity_type="PERSON",
                    start=start,
                    end=end,
                    score=score,
                    analysis_explanation=None,
                    recognition_metadata={
                        RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                        RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                    },
                )
                for start, end, score in find_names(text)
            ]

    return IndicNameRecognizer()
