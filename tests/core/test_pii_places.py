"""Street addresses in European and Indian formats, address blocks, and what must not be taken for an address
(cleanroom/pii/places.py through the real engine)."""

from __future__ import annotations

import pytest

from cleanroom.pii.engine import detect
from cleanroom.pii.places import find_addresses
from cleanroom.pii.redaction import resolve_overlaps


def _locations(text: str) -> list[str]:
    return [text[s.start : s.end] for s in resolve_overlaps(detect(text, entities=["LOCATION", "PERSON"]))]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "Please send the card to Villacher Strasse 89, Klagenfurt, Austria.",
            "Villacher Strasse 89, Klagenfurt, Austria",
        ),
        ("Our branch moved to Mannerheimintie 12 B last year.", "Mannerheimintie 12 B"),
        ("Patient address: ul. Słowicza 10, 53-320 Wrocław", "ul. Słowicza 10, 53-320 Wrocław"),
        ("Correspondence: Rua Augusta 274, Lisboa", "Rua Augusta 274, Lisboa"),
        ("The clinic is on Via Garibaldi 7.", "Via Garibaldi 7"),
        ("Return the form to P.O. Box 4521, Chennai 600002", "P.O. Box 4521, Chennai 600002"),
        ("Flat 3, 21 Residency Road\nBengaluru 560025\nKarnataka", "21 Residency Road\nBengaluru 560025\nKarnataka"),
        ("He lives at Kirkegata 14, Oslo.", "Kirkegata 14, Oslo"),
    ],
)
def test_european_and_indian_addresses_with_their_town_are_one_location(text, address):
    assert any(address in found for found in _locations(text)), _locations(text)


def test_an_address_block_runs_over_its_lines_and_stops_at_the_next_field():
    text = "Ewa Nowak\n17 Marszałkowska 14\nApt. 5\nWarszawa\nPoland 00-624\nMobile: +48 601 234 567"
    [(start, _, end)] = [a for a in find_addresses(text) if text[a[0]].isdigit()]
    assert text[start:end] == "17 Marszałkowska 14\nApt. 5\nWarszawa\nPoland 00-624"


def test_a_street_named_after_a_person_and_its_town_are_no_person():
    text = "The office is at Jana Palacha 12, Praha."
    found = resolve_overlaps(detect(text, entities=["PERSON", "LOCATION"]))
    assert [s.entity_type for s in found] == ["LOCATION"]
    assert not detect(text, entities=["PERSON"])


@pytest.mark.parametrize(
    "text",
    [
        "During 1971 the company grew quickly.",
        "See chapter 12 and table 3 of the annual report.",
        "The trial enrolled 240 patients over 18 months.",
        "Revenue rose 14 per cent on the year.",
        "Badges are issued on 2 January 2026 in Pune.",
        "The audit is on March 14, 2025 and the review on 3rd of Sept 2025.",
    ],
)
def test_ordinary_numbers_are_not_addresses(text):
    assert not find_addresses(text)


def test_countries_places_after_verbs_and_organisations_by_their_legal_form():
    text = "Meera moved here from Thrissur in 2019 and works for Apollo Hospitals; she was born in Portugal."
    found = {text[s.start : s.end]: s.entity_type for s in detect(text, entities=["LOCATION", "ORGANIZATION"])}
    assert found.get("Thrissur") == "LOCATION" and found.get("Portugal") == "LOCATION", found
    assert found.get("Apollo Hospitals") == "ORGANIZATION", found


def test_a_country_or_an_organisation_is_no_person():
    assert not detect("France was super fun to visit!", entities=["PERSON"])
    text = "The loan from Shepherd Finance Ltd. was repaid."
    assert not [s for s in detect(text, entities=["PERSON"]) if "Shepherd" in text[s.start : s.end]]
    text = "Contact the State Bank of India branch."
    assert ("State Bank of India", "ORGANIZATION") in [
        (text[s.start : s.end], s.entity_type)
        for s in resolve_overlaps(detect(text, entities=["LOCATION", "ORGANIZATION"]))
    ]


def test_ordinary_capitalised_words_are_no_people():
    text = "Awarded Salesperson of the Month; a salesperson with Discipline and Depression in Guilty Pleasures."
    assert not detect(text, entities=["PERSON"])
    assert detect("Mrs. Baker signed the form.", entities=["PERSON"])


@pytest.mark.parametrize(
    ("text", "crossing"),
    [
        ("Meet me at the corner of 14 Mill Lane and Rosa Walk.", "14 Mill Lane and Rosa Walk"),
        ("The new depot: Sigrun and Havnegade 12", "Sigrun and Havnegade 12"),
    ],
)
def test_a_crossing_of_two_streets_is_one_location_and_no_person(text, crossing):
    assert crossing in _locations(text), _locations(text)
    assert detect(text, entities=["PERSON"]) == []
