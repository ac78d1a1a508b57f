"""A generated, labelled set of Indian personal data: valid identifiers of every kind, phone numbers and names in
several styles, inside sentences and form lines of the kinds that documents contain. No public labelled set
exists; this one is made from the identifiers' published formats (and check digits where they have one)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from tests.helpers.samples import aadhaar, pan

ALNUM36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
STATES = "AP AR AS BR CG GA GJ HR HP JH KA KL MP MH MN ML MZ NL OD PB RJ SK TN TS TR UP UK WB DL JK LA CH PY".split()

GIVEN = (
    "Aarav Ananya Rohan Kavya Priya Ramesh Sunita Mohan Lakshmi Venkatesh Gurpreet Imran Farhan Meenakshi Arjun "
    "Deepa Sanjay Anjali Harish Shalini Suresh Nandini Karthik Divya Rajesh Pooja Vikram Neha Sudha Abdul Bhavana "
    "Chitra Dhanush Ekta Gopal Hemalatha Ishaan Jyothi Kiran Lalitha Manjunath Nirmala Omkar Padma Raghav Sarala"
).split()
SURNAMES = (
    "Iyer Sharma Yadav Reddy Nair Patel Kaur Qureshi Banerjee Mukherjee Deshpande Kulkarni Menon Pillai Gupta "
    "Chatterjee Naidu Rao Singh Khan Joshi Mehta Shetty Hegde Agarwal Bhat Das Ghosh Verma Srinivasan Subramaniam "
    "Krishnamurthy Ramachandran Venkataraman Gowda Thakur Chauhan Bose Sen Dutta Saxena Trivedi Pandey Mishra"
).split()
HONORIFICS = ["Shri", "Smt.", "Sri", "Dr.", "Mr.", "Mrs.", "Ms.", "Kumari", "Prof."]


@dataclass(frozen=True)
class Sample:
    text: str
    value: str
    kind: str


def gstin_check_char(first14: str) -> str:
    total = 0
    for i, ch in enumerate(first14):
        product = ALNUM36.index(ch) * (2 if i % 2 else 1)
        total += product // 36 + product % 36
    return ALNUM36[(36 - total % 36) % 36]


def gstin(rng: random.Random) -> str:
    body = f"{rng.randint(1, 37):02d}" + pan(rng) + rng.choice("123456789ABC") + "Z"
    return body + gstin_check_char(body)


def voter_id(rng: random.Random) -> str:
    return "".join(rng.choice(LETTERS) for _ in range(3)) + "".join(str(rng.randint(0, 9)) for _ in range(7))


def passport(rng: random.Random) -> str:
    return rng.choice("ABCDEFGHJKLMNPRSTUVWY") + str(rng.randint(1, 9)) + f"{rng.randint(0, 999999):06d}"


def vehicle(rng: random.Random) -> str:
    if rng.random() < 0.1:  # Bharat series: 22 BH 1234 AA
        parts = [
            f"{rng.randint(21, 25)}",
            "BH",
            f"{rng.randint(1, 9999):04d}",
            rng.choice(LETTERS) + rng.choice(LETTERS),
        ]
    else:
        series = "".join(rng.choice(LETTERS) for _ in range(rng.choice([1, 2, 2, 2, 3])))
        parts = [rng.choice(STATES), f"{rng.randint(1, 99):02d}", series, f"{rng.randint(1, 9999):04d}"]
    sep = rng.choice([" ", "-", "", " "])
    return sep.join(parts)


def phone(rng: random.Random) -> str:
    mobile = str(rng.randint(6, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(9))
    style = rng.randrange(7)
    if style == 0:
        return f"+91 {mobile[:5]} {mobile[5:]}"
    if style == 1:
        return f"+91-{mobile}"
    if style == 2:
        return f"0{mobile}"
    if style == 3:
        return f"{mobile[:5]}-{mobile[5:]}"
    if style == 4:
        return mobile
    if style == 5:
        return f"+91 {mobile[:2]} {mobile[2:6]} {mobile[6:]}"
    std, digits = rng.choice([("011", 8), ("022", 8), ("080", 8), ("044", 8), ("0124", 7), ("0484", 7)])
    local = str(rng.randint(2, 6)) + "".join(str(rng.randint(0, 9)) for _ in range(digits - 1))
    return rng.choice([f"{std}-{local}", f"({std}) {local[:4]} {local[4:]}", f"+91 {std[1:]} {local}"])


def person(rng: random.Random) -> str:
    given, surname = rng.choice(GIVEN), rng.choice(SURNAMES)
    style = rng.randrange(6)
    if style == 0:
        return f"{given} {surname}"
    if style == 1:
        return f"{rng.choice(HONORIFICS)} {given} {surname}"
    if style == 2:  # South Indian initial first
        return f"{rng.choice(LETTERS)}. {given}"
    if style == 3:
        return f"{given} {rng.choice(GIVEN)} {surname}"
    if style == 4:  # forms in capitals
        return f"{given} {surname}".upper()
    return f"{surname}, {given}"


# Sentences and form lines as they appear in KYC forms, letters, HR records and tickets.
TEMPLATES: dict[str, list[str]] = {
    "IN_AADHAAR": [
        "Aadhaar No.: {v}",
        "The applicant's Aadhaar number is {v} and it was verified.",
        "UID {v} linked to the bank account.",
        "Please find my Aadhaar ({v}) attached for KYC.",
        "Identity proof: Aadhaar card {v}, issued by UIDAI.",
        "{v} is the Aadhaar given on the form.",
    ],
    "IN_PAN": [
        "PAN: {v}",
        "Income tax PAN {v} was quoted on the invoice.",
        "Kindly update PAN number {v} in payroll.",
        "Permanent Account Number - {v}",
        "Her PAN card reads {v}.",
        "TDS was deducted against {v} for the quarter.",
    ],
    "IN_VOTER": [
        "Voter ID: {v}",
        "EPIC number {v} was shown at the polling booth.",
        "Address proof - Voter ID card {v}",
        "Elector's photo identity card no. {v}",
        "He submitted his voter card ({v}) as proof of address.",
    ],
    "IN_PASSPORT": [
        "Passport No.: {v}",
        "Her passport number is {v}, valid till 2031.",
        "Travel document: Indian passport {v}",
        "Passport {v} issued at Bengaluru.",
        "Please renew passport no {v} before the visa interview.",
    ],
    "IN_VEHICLE_REGISTRATION": [
        "Vehicle No.: {v}",
        "The car bearing registration number {v} was parked outside.",
        "Reg. No {v} (two-wheeler)",
        "Insurance for vehicle {v} expires next month.",
        "Challan issued to {v} for over-speeding.",
    ],
    "IN_GSTIN": [
        "GSTIN: {v}",
        "Supplier GSTIN {v} appears on the tax invoice.",
        "GST registration number - {v}",
        "Bill to: Sharma Traders, GSTIN/UIN {v}",
        "Our GST number is {v}.",
    ],
    "PHONE_NUMBER": [
        "Mobile: {v}",
        "Call me on {v} after 6 pm.",
        "Contact number {v} (WhatsApp)",
        "Ph. {v}",
        "For queries, reach the helpdesk at {v}.",
        "Alternate phone - {v}",
    ],
    "PERSON": [
        "Name: {v}",
        "The form was signed by {v} on Monday.",
        "{v} joined the finance team last year.",
        "Applicant: {v}",
        "Please forward the file to {v} for approval.",
        "Dear {v}, your request has been processed.",
        "Nominee - {v}",
        "Meeting notes taken by {v}.",
    ],
}
GENERATORS = {
    "IN_AADHAAR": lambda rng: aadhaar(rng, spaced=rng.random() < 0.6),
    "IN_PAN": pan,
    "IN_VOTER": voter_id,
    "IN_PASSPORT": passport,
    "IN_VEHICLE_REGISTRATION": vehicle,
    "IN_GSTIN": gstin,
    "PHONE_NUMBER": phone,
    "PERSON": person,
}
IDENTIFIER_KINDS = tuple(kind for kind in GENERATORS if kind != "PERSON")


def build(rng: random.Random, per_kind: int) -> list[Sample]:
    samples = []
    for kind, generate in GENERATORS.items():
        for _ in range(per_kind):
            value = generate(rng)
            samples.append(Sample(rng.choice(TEMPLATES[kind]).format(v=value), value, kind))
    return samples


def invalid_aadhaar_lookalikes(rng: random.Random, count: int) -> list[str]:
    templates = ["Order reference {v} was dispatched.", "Invoice no. {v}", "Ticket {v} is closed.", "Ref: {v}"]
    return [rng.choice(templates).format(v=aadhaar(rng, valid=False, spaced=rng.random() < 0.5)) for _ in range(count)]
