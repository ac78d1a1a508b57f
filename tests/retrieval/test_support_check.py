"""The support check on fixed answer/passage pairs: paraphrases and numbers written differently pass, wrong numbers,
flipped negations and unbacked claims do not. No model is involved, so nothing here depends on a model's quality."""

from __future__ import annotations

import pytest

from retrieval.prompting import Passage, content_words, normalise_numbers, support_check
from retrieval.selectors import ScoredChunk


def _passage(number: int, *sentences: str) -> Passage:
    text = " ".join(sentences)
    chunk = ScoredChunk(chunk_id=number, document_id="d", title="Policy", section="", text=text, score=0.5)
    return Passage(number, chunk, tuple(sentences), " ".join(sentences))


def _supported(answer: str, *passages: Passage, similarities: list[dict[int, float]] | None = None) -> list[bool]:
    return [row.supported for row in support_check(answer, list(passages), similarities)]


PATERNITY = _passage(
    1,
    "A male employee may take five working days of paternity leave.",
    "It is to be availed within three months of the birth or adoption of the child.",
)
CLAIMS = _passage(1, "Expense claims are submitted within fifteen days of returning, with original bills attached.")
APPROVALS = _passage(1, "Anything above ₹5,00,000 also needs the approval of the Chief Financial Officer.")
BUSINESS = _passage(1, "Employees in grades M4 and above may fly economy class.", "Business class is never reimbursed.")


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("ten working days", "10 working days"),
        ("Twenty-six weeks", "26 weeks"),
        ("₹5,00,000", " 500000"),
        ("5 lakh", "500000"),
        ("one and a half days", "1.5 days"),
        ("20,000 rupees", "20000 rupees"),
        ("no one", "no one"),  # a pronoun, not a quantity
    ],
)
def test_numbers_are_normalised(written, expected):
    assert normalise_numbers(written) == expected


def test_inflections_meet_on_one_stem():
    assert content_words("approved approves approval") == content_words("approve")
    assert content_words("employees days policies") == content_words("employee day policy")


def test_answer_with_digits_for_number_words_is_supported():
    assert _supported("New fathers get 5 working days of paternity leave [1].", PATERNITY) == [True]


def test_answer_with_fewer_words_for_the_same_number_is_supported():
    assert _supported("Claims must be submitted within 15 days of returning [1].", CLAIMS) == [True]


def test_lakh_backs_indian_digit_grouping():
    assert _supported("Purchases above 5 lakh rupees need the Chief Financial Officer's approval [1].", APPROVALS) == [
        True
    ]


def test_a_number_the_passage_does_not_hold_is_rejected():
    assert _supported("Claims must be submitted within 30 days of returning [1].", CLAIMS) == [False]
    assert _supported("A male employee may take 10 working days of paternity leave [1].", PATERNITY) == [False]


def test_a_dropped_negation_is_rejected():
    assert _supported("Business class is reimbursed [1].", BUSINESS) == [False]
    assert _supported("No, business class is never reimbursed [1].", BUSINESS) == [True]


def test_a_limit_put_positively_is_no_flipped_negation():
    passage = _passage(1, "Earned leave can be carried forward, but the balance may not exceed forty-five days.")
    assert _supported("You can carry over at most 45 days of earned leave [1].", passage) == [True]
    assert _supported("You can carry over at most 60 days of earned leave [1].", passage) == [False]


def test_framing_words_are_not_claims():
    passage = _passage(1, "Laptops are replaced every four years.")
    assert _supported("According to the passage, laptops are replaced every 4 years [1].", passage) == [True]


def test_paraphrase_passes_on_embedding_similarity_but_numbers_still_count():
    answer = "Fathers can stay home for 5 days after their baby arrives [1]."
    assert _supported(answer, PATERNITY) == [False]  # too few shared words
    assert _supported(answer, PATERNITY, similarities=[{1: 0.75}]) == [True]
    wrong = "Fathers can stay home for 7 days after their baby arrives [1]."
    assert _supported(wrong, PATERNITY, similarities=[{1: 0.75}]) == [False]


def test_an_unbacked_claim_is_rejected_even_when_it_reuses_a_number():
    passage = _passage(1, "Every permanent employee earns eighteen days of earned leave in a calendar year.")
    assert _supported("Employees may take 18 weeks of unpaid sabbatical abroad [1].", passage) == [False]


def test_the_wrong_citation_is_rejected_and_an_uncited_sentence_finds_its_passage():
    other = _passage(2, "Parking is free for employees.")
    assert _supported("Claims are submitted within 15 days of returning [2].", CLAIMS, other) == [False]
    rows = support_check("Claims are submitted within 15 days of returning.", [other, _passage(3, *CLAIMS.sentences)])
    assert rows[0].supported and rows[0].cited == (3,)


SAFETY = _passage(
    1,
    "Smoking is allowed only in the marked smoking zone near gate 2.",
    "First-aid boxes are kept at every line, and an ambulance is available at the main gate around the clock.",
    "Forklift licences are renewed every two years.",
)
SICK = _passage(
    1,
    "No more than three days of casual leave may be taken at a stretch.",
    "Sick leave is ten days a year and accumulates up to a maximum of sixty days.",
    "A medical certificate from a registered doctor is required when sick leave exceeds two consecutive days.",
)


def test_a_number_from_a_sentence_about_something_else_is_rejected():
    # "2" is in the passage, but only as the gate's number: the answer gives it to a question the passage leaves open.
    assert _supported("There are 2 first-aid trained employees per shift [1].", SAFETY) == [False]
    assert _supported("A doctor's certificate is needed when sick leave exceeds three days [1].", SICK) == [False]
    # Similar in meaning to the certificate sentence, and most of its words are there: still not its number.
    wrong = "After three days off sick, you need a doctor's certificate [1]."
    assert _supported(wrong, SICK, similarities=[{1: 0.8}]) == [False]


def test_a_number_with_its_own_sentence_passes_written_differently():
    assert _supported("A forklift licence must be renewed every 2 years [1].", SAFETY) == [True]
    assert _supported("You need a medical certificate after 2 consecutive days of sick leave [1].", SICK) == [True]
    assert _supported("Sick leave accumulates to at most sixty days, ten a year [1].", SICK) == [True]


def test_a_paraphrase_needs_its_numbers_in_one_sentence_only():
    answer = "Fathers can stay home for 5 days after their baby arrives [1]."
    assert _supported(answer, PATERNITY, similarities=[{1: 0.75}]) == [True]
    split = "Fathers get 5 days within 3 months [1]."  # both numbers exist, in neighbouring sentences: one window
    assert _supported(split, PATERNITY, similarities=[{1: 0.75}]) == [True]


GIFTS = _passage(
    1,
    "Employees may accept a gift from a supplier only if its value is ₹2,000 or less and it is not cash.",
)


def test_a_negation_in_another_clause_does_not_flip_the_answer():
    assert _supported("The maximum value of a gift I may accept from a supplier is ₹2,000 [1].", GIFTS) == [True]
    assert _supported("You may accept a supplier's gift of up to ₹2,000 if it is not cash [1].", GIFTS) == [True]
    assert _supported("Employees may not accept a gift from a supplier [1].", GIFTS) == [False]


def test_a_citation_written_out_is_a_citation_not_a_claimed_number():
    from retrieval.prompting import answer_clean, cited_numbers

    passage = _passage(1, "A single petty cash payment may not exceed ₹5,000.")
    text = answer_clean("The largest single payment allowed from petty cash is ₹5,000, as stated in Passage 1.")
    assert text.endswith("in [1].") and cited_numbers(text, 1) == [1]
    assert _supported(text, passage) == [True]
    assert answer_clean("Passage 1 (document: Policy): Five days [1].") == "Five days [1]."


def test_an_answer_that_pins_a_neighbouring_fact_on_the_question_is_rejected():
    lodging = _passage(1, "Employees who stay with relatives receive a lodging allowance of ₹1,000 a night.")
    question = "How much is the Diwali bonus?"
    rows = support_check("The Diwali bonus is ₹1,000 a night for employees [1].", [lodging], question=question)
    assert not rows[0].supported
    # One question word the passage words differently is fine; a close paraphrase may repeat more of them.
    password = _passage(1, "Passwords must be at least twelve characters long.")
    question = "What is the minimum length of a password?"
    answer = "The minimum length of a password is twelve characters [1]."
    assert not support_check(answer, [password], question=question)[0].supported
    assert support_check(answer, [password], [{1: 0.8}], question=question)[0].supported
    hotel = _passage(1, "Hotel stay is reimbursed up to ₹6,000 a night in metro cities such as Mumbai.")
    answer = "The hotel limit per night in Mumbai is ₹6,000 [1]."
    rows = support_check(answer, [hotel], question="What is the hotel limit in Mumbai?")
    assert rows[0].supported
