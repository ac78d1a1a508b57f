"""A tenant's PII policy applied on top of the detector: per-type action and threshold, allow-list, custom regex
recognizers, pseudonyms keyed per tenant, and the keyed hashes that erasure later finds documents by.

The detector (cleanroom/pii/engine.py) finds spans; this module decides what each span becomes. Everything here is
pure: cleanroom/redaction.py (the one redaction door) loads the policy and runs the detector.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from cleanroom.pii.redaction import Span, placeholder, resolve_overlaps

REDACT, MASK, PSEUDONYMIZE, BLOCK = "redact", "mask", "pseudonymize", "block"
# What the second pass does with a value only it found (below the type's threshold, at or above the stricter one):
# rewrite it like any other (REDACT), hold the document for a reviewer (HOLD), or leave it (ALLOW).
HOLD, ALLOW = "hold", "allow"
DEFAULT_THRESHOLD = 0.4  # the detector's own default (engine.DEFAULT_SCORE_THRESHOLD)
TOKEN_HEX = 8  # 32 bits of the keyed hash: collisions stay unlikely for a tenant's hundreds of thousands of people

# Placeholders and pseudonyms this module writes: never re-detected, never re-redacted, findable by erasure.
PLACEHOLDER_RE = re.compile(rf"<([A-Z][A-Z0-9_]*?)(?:_([0-9a-f]{{{TOKEN_HEX}}}))?>")

_DIGIT_TYPES = frozenset({"IN_AADHAAR", "CREDIT_CARD", "US_SSN", "US_ITIN", "US_BANK_NUMBER", "UK_NHS"})
_CODE_TYPES = frozenset(
    {
        "IN_PAN",
        "IN_VOTER",
        "IN_PASSPORT",
        "IN_VEHICLE_REGISTRATION",
        "IN_GSTIN",
        "IBAN_CODE",
        "US_PASSPORT",
        "US_DRIVER_LICENSE",
        "MEDICAL_LICENSE",
    }
)
_HONORIFICS = frozenset("mr mrs ms miss dr prof shri sri smt shrimati kumari km sushri master mx sir madam".split())


@dataclass(frozen=True)
class EntityTreatment:
    action: str
    threshold: float
    uncertain: str = REDACT  # REDACT, HOLD or ALLOW: for what only the second pass finds


@dataclass(frozen=True)
class Recognizer:
    label: str
    pattern: str
    action: str
    ignore_case: bool = False

    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern, re.IGNORECASE if self.ignore_case else 0)


@dataclass(frozen=True)
class PiiPolicy:
    """Everything that decides what happens to detected personal data for one tenant."""

    tenant_id: int
    rule_id: int | None
    treatments: dict[str, EntityTreatment]  # built-in entity type -> treatment
    allow_terms: frozenset[str]  # normalised with normalise_term
    recognizers: tuple[Recognizer, ...]
    # (normalised term, entity type): values a reviewer confirmed, found wherever they occur from then on
    deny_terms: tuple[tuple[str, str], ...] = ()

    @property
    def detector_entities(self) -> frozenset[str]:
        return frozenset(self.treatments)

    @property
    def min_threshold(self) -> float:
        return min((t.threshold for t in self.treatments.values()), default=DEFAULT_THRESHOLD)

    def action_for(self, entity_type: str) -> str:
        if entity_type in self.treatments:
            return self.treatments[entity_type].action
        for recognizer in self.recognizers:
            if recognizer.label == entity_type:
                return recognizer.action
        return REDACT

    def uncertain_for(self, entity_type: str) -> str:
        treatment = self.treatments.get(entity_type)
        return treatment.uncertain if treatment is not None else REDACT

    def stricter(self, threshold: float) -> PiiPolicy:
        """The same policy with every built-in type's threshold lowered to at most `threshold` (the leak scan)."""
        return PiiPolicy(
            tenant_id=self.tenant_id,
            rule_id=self.rule_id,
            treatments={
                k: EntityTreatment(v.action, min(v.threshold, threshold), v.uncertain)
                for k, v in self.treatments.items()
            },
            allow_terms=self.allow_terms,
            recognizers=self.recognizers,
            deny_terms=self.deny_terms,
        )

    @property
    def version(self) -> str:
        """A short digest of the whole policy, recorded in every manifest: same digest, same treatment."""
        payload = {
            "treatments": {k: [v.action, v.threshold, v.uncertain] for k, v in sorted(self.treatments.items())},
            "allow": sorted(self.allow_terms),
            "recognizers": [[r.label, r.pattern, r.action, r.ignore_case] for r in self.recognizers],
            "deny": sorted(self.deny_terms),
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def describe(self) -> dict[str, object]:
        """For manifests and audit entries: types, actions and thresholds, never allow-list terms or patterns'
        matches (a term may itself be a name the tenant chose to keep)."""
        return {
            "policy_rule_id": self.rule_id,
            "policy_version": self.version,
            "entity_actions": {k: v.action for k, v in sorted(self.treatments.items())},
            "entity_thresholds": {k: v.threshold for k, v in sorted(self.treatments.items())},
            "entity_uncertain": {k: v.uncertain for k, v in sorted(self.treatments.items()) if v.uncertain != REDACT},
            "custom_recognizers": {r.label: r.action for r in self.recognizers},
            "allow_terms": len(self.allow_terms),
            "deny_terms": len(self.deny_terms),
        }


def normalise_term(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def normalise_value(entity_type: str, value: str) -> tuple[str, str]:
    """(kind, normalised value): two spellings of one identifier normalise alike, so their keyed hashes match."""
    value = unicodedata.normalize("NFKC", value).strip()
    if entity_type == "EMAIL_ADDRESS":
        return "email", value.lower()
    if entity_type == "PHONE_NUMBER":
        digits = re.sub(r"\D", "", value)
        return "phone", digits[-10:]  # drop a country code or trunk prefix: +91 98765 43210 = 098765 43210
    if entity_type in _DIGIT_TYPES:
        return "digits", re.sub(r"\D", "", value)
    if entity_type in _CODE_TYPES:
        return "code", re.sub(r"[^0-9A-Z]", "", value.upper())
    words = re.sub(r"[^\w\s]", " ", value.casefold()).split()
    while len(words) > 1 and words[0] in _HONORIFICS:
        words = words[1:]
    return "text", " ".join(words)


MAX_NAME_WORDS = 8  # a detected name longer than this keeps hashes of its first 8 words' runs only


def name_words(value: str) -> list[str]:
    """The words that identify a person in `value`: casefolded, without honorifics or one-letter initials, so
    that "Dr. Meera K. Pillai" and "Meera Pillai" share "meera pillai"."""
    words = re.sub(r"[^\w\s]", " ", unicodedata.normalize("NFKC", value).casefold()).split()
    return [w for w in words if w not in _HONORIFICS and not (len(w) == 1 and w.isalpha())]


def name_part_hashes(key: bytes, value: str) -> list[str]:
    """Keyed hashes of every run of whole words of a detected name-like value (after name_words): erasure of
    "Meera Pillai" then finds the detection "Contact Meera Pillai" without the value ever being stored."""
    words = name_words(value)[:MAX_NAME_WORDS]
    runs = {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}
    return sorted(keyed_hash(key, "text", run) for run in runs)


def keyed_hash(key: bytes, kind: str, normalised: str) -> str:
    return hmac.new(key, f"{kind}:{normalised}".encode(), hashlib.sha256).hexdigest()


def value_hash(key: bytes, entity_type: str, value: str) -> str:
    return keyed_hash(key, *normalise_value(entity_type, value))


def identifier_hashes(key: bytes, identifier: str) -> set[str]:
    """Every keyed hash `identifier` could have been stored under, whatever type the detector gave it."""
    identifier = identifier.strip()
    hashes: set[str] = set()
    candidates = ["PERSON"]
    if "@" in identifier:
        candidates.append("EMAIL_ADDRESS")
    digits = re.sub(r"\D", "", identifier)
    letters = re.sub(r"[^A-Za-z]", "", identifier)
    if len(digits) >= 6 and not letters:
        candidates += ["PHONE_NUMBER", "IN_AADHAAR"]
    if digits and letters:
        candidates.append("IN_PAN")
    for entity_type in candidates:
        kind, normalised = normalise_value(entity_type, identifier)
        if normalised:
            hashes.add(keyed_hash(key, kind, normalised))
    words = name_words(identifier)
    if words:  # the name without honorifics and initials: how name_part_hashes recorded it
        hashes.add(keyed_hash(key, "text", " ".join(words)))
    return hashes


def pseudonym(entity_type: str, digest: str) -> str:
    return f"<{entity_type}_{digest[:TOKEN_HEX]}>"


def mask(value: str) -> str:
    """Star every letter and digit, keeping separators (so the shape stays readable) and, for values with at
    least 8 of them, the last 4 (enough to tell two cards apart, too little to use one)."""
    alnum = [i for i, ch in enumerate(value) if ch.isalnum()]
    keep = set(alnum[-4:]) if len(alnum) >= 8 else set()
    return "".join(ch if (not ch.isalnum() or i in keep) else "*" for i, ch in enumerate(value))


def custom_spans(text: str, recognizers: tuple[Recognizer, ...]) -> list[Span]:
    spans: list[Span] = []
    for recognizer in recognizers:
        for match in recognizer.compiled().finditer(text):
            if match.end() > match.start():
                spans.append(Span(match.start(), match.end(), recognizer.label, 1.0))
    return spans


def deny_spans(text: str, deny_terms: tuple[tuple[str, str], ...]) -> list[Span]:
    """Every whole-word occurrence of a deny term (any case, any run of spaces between its words), at score 1.0."""
    spans: list[Span] = []
    for term, entity_type in deny_terms:
        words = [re.escape(word) for word in term.split()]
        if not words:
            continue
        pattern = r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)"
        for match in re.finditer(pattern, text, re.IGNORECASE):
            spans.append(Span(match.start(), match.end(), entity_type, 1.0))
    return spans


def inside_placeholder(text: str, span: Span) -> bool:
    return any(m.start() <= span.start and span.end <= m.end() for m in PLACEHOLDER_RE.finditer(text))


def select_spans(text: str, spans: list[Span], policy: PiiPolicy) -> list[Span]:
    """Apply per-type thresholds and the allow-list, skip our own placeholders, and resolve overlaps."""
    kept = []
    for span in spans:
        treatment = policy.treatments.get(span.entity_type)
        if treatment is not None and span.score < treatment.threshold:
            continue
        if normalise_term(text[span.start : span.end]) in policy.allow_terms:
            continue
        if inside_placeholder(text, span):
            continue
        kept.append(span)
    return resolve_overlaps(kept)


@dataclass(frozen=True)
class Finding:
    """One distinct detected value: its type, action and keyed hash. The value itself is held only for
    pseudonyms, only in memory, until it is encrypted into the vault."""

    entity_type: str
    action: str
    value_hash: str
    token: str = ""
    value: str = field(default="", repr=False)
    part_hashes: tuple[str, ...] = ()  # name_part_hashes, for values that are not digits or codes


@dataclass
class Applied:
    text: str
    counts: dict[str, int]
    findings: list[Finding]
    blocked: list[str]  # entity types whose action is block
    spans: list[Span] = field(default_factory=list)  # what was rewritten, in `text` before rewriting


def apply_policy(text: str, spans: list[Span], policy: PiiPolicy, *, key: bytes) -> Applied:
    """Pure: rewrite `text` according to `policy` for the spans already selected by `select_spans`."""
    pieces: list[str] = []
    counts: Counter[str] = Counter()
    findings: dict[tuple[str, str], Finding] = {}
    blocked: list[str] = []
    cursor = 0
    for span in spans:
        value = text[span.start : span.end]
        action = policy.action_for(span.entity_type)
        digest = value_hash(key, span.entity_type, value)
        token = ""
        if action == BLOCK:
            blocked.append(span.entity_type)
            replacement = placeholder(span.entity_type)
        elif action == MASK:
            replacement = mask(value)
        elif action == PSEUDONYMIZE:
            token = replacement = pseudonym(span.entity_type, digest)
        else:
            replacement = placeholder(span.entity_type)
        pieces += [text[cursor : span.start], replacement]
        cursor = span.end
        counts[span.entity_type] += 1
        if (span.entity_type, digest) not in findings:
            parts = name_part_hashes(key, value) if normalise_value(span.entity_type, value)[0] == "text" else []
            findings[(span.entity_type, digest)] = Finding(
                span.entity_type, action, digest, token, value if action == PSEUDONYMIZE else "", tuple(parts)
            )
    pieces.append(text[cursor:])
    return Applied("".join(pieces), dict(counts), list(findings.values()), sorted(set(blocked)), list(spans))
