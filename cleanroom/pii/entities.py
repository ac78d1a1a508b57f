"""The personal-data entity types the clean room knows, and which of them the default policy redacts."""

from __future__ import annotations

# entity type -> human label. Order is the order shown in admin.
ENTITY_TYPES: dict[str, str] = {
    "PERSON": "Person names",
    "EMAIL_ADDRESS": "E-mail addresses",
    "PHONE_NUMBER": "Phone numbers",
    "IN_AADHAAR": "Aadhaar numbers (India)",
    "IN_PAN": "PAN (India)",
    "IN_VOTER": "Voter ID / EPIC (India)",
    "IN_PASSPORT": "Passport numbers (India)",
    "IN_VEHICLE_REGISTRATION": "Vehicle registrations (India)",
    "IN_GSTIN": "GSTIN (India)",
    "CREDIT_CARD": "Payment card numbers",
    "IBAN_CODE": "IBANs",
    "US_BANK_NUMBER": "Bank account numbers (US)",
    "US_SSN": "Social security numbers (US)",
    "US_ITIN": "Taxpayer ids (US)",
    "US_PASSPORT": "Passport numbers (US)",
    "US_DRIVER_LICENSE": "Driver licences (US)",
    "UK_NHS": "NHS numbers (UK)",
    "MEDICAL_LICENSE": "Medical licence numbers",
    "IP_ADDRESS": "IP addresses",
    "CRYPTO": "Crypto wallet addresses",
    # Not redacted by default: documents need them to stay useful. A rule can add them.
    "DATE_TIME": "Dates and times",
    "LOCATION": "Places and addresses",
    "NRP": "Nationalities, religious and political groups",
    "URL": "Web addresses",
}

# What identifies a person: names, contact details, government and financial identifiers.
DEFAULT_REDACT_ENTITIES: tuple[str, ...] = tuple(
    name for name in ENTITY_TYPES if name not in {"DATE_TIME", "LOCATION", "NRP", "URL"}
)


def entity_choices() -> list[tuple[str, str]]:
    return [(name, f"{label} ({name})") for name, label in ENTITY_TYPES.items()]
