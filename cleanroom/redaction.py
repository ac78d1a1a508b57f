"""The one redaction door: every text that enters the clean room (a document at ingestion, a question to
/api/v1/query, /api/v1/search or the OpenAI endpoint, a stored text the leak scan re-reads) is rewritten here,
under its tenant's policy: per-type actions and thresholds, allow-list, custom recognizers and pseudonyms.

A second path to redaction would be a second, weaker guarantee; tests/retrieval/test_redaction_door.py holds every
path to this one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from cleanroom.errors import ServiceError
from cleanroom.keys import tenant_hash_key
from cleanroom.pii.engine import detect_many, detector_version
from cleanroom.pii.entities import ENTITY_TYPES
from cleanroom.pii.policy import (
    ALLOW,
    HOLD,
    REDACT,
    Applied,
    Finding,
    PiiPolicy,
    apply_policy,
    custom_spans,
    deny_spans,
    select_spans,
    value_hash,
)
from cleanroom.pii.redaction import Span
from cleanroom.policies.selectors import pii_policy
from cleanroom.tenants.models import Tenant

DOCUMENT, QUESTION, SCAN = "document", "question", "scan"


@dataclass
class PolicyResult:
    """What ingestion stores: the rewritten texts and counts, plus the findings to persist with the document
    (`redaction_findings_save`) and the policy part of its manifest."""

    texts: list[str]
    counts: dict[str, int]
    findings: list[Finding] = field(repr=False)
    manifest: dict[str, object]
    spans: list[Span] = field(default_factory=list, repr=False)  # what was rewritten (types and scores)


def _detect_many(texts: list[str], policy: PiiPolicy) -> list[list[Span]]:
    found = detect_many(texts, entities=policy.detector_entities, score_threshold=policy.min_threshold)
    return [
        spans + custom_spans(text, policy.recognizers) + deny_spans(text, policy.deny_terms)
        for text, spans in zip(texts, found, strict=True)
    ]


_JOIN = "\n\n\ue000\n\n"


def pii_policy_apply_many(
    *,
    tenant: Tenant,
    batches: list[list[str]],
    purpose: str = DOCUMENT,
    threshold: float | None = None,
) -> list[PolicyResult | ServiceError]:
    """`pii_policy_apply` for several documents at once: one detector pass over all of them (spaCy batches them,
    and the policy and keys are loaded once), then the policy per document. A document that the policy refuses
    gets its ServiceError in its place instead of a result, so one blocked document does not stop the others.

    `threshold` lowers every type's threshold to at most that score (the leak scan's stricter pass)."""
    policy = pii_policy(tenant=tenant)
    if threshold is not None:
        policy = policy.stricter(threshold)
    key = tenant_hash_key(tenant.pk)
    manifest = {**policy.describe(), "detector": detector_version()}

    # A document's short texts (headings, title, file name) join its body for one detector pass: each pass has a
    # fixed cost that dwarfs a title's own. A private-use character separates them: no document carries it and no
    # recognizer matches it. A span that crosses a separator sends that document back for one pass per text.
    def joinable(texts: list[str]) -> bool:
        return len(texts) > 1 and not any(_JOIN in text for text in texts)

    def applied(texts: list[str], spans: list[list[Span]]) -> list[Applied]:
        return [apply_policy(t, select_spans(t, s, policy), policy, key=key) for t, s in zip(texts, spans, strict=True)]

    joined = [joinable(texts) for texts in batches]
    units = [[_JOIN.join(texts)] if join else texts for texts, join in zip(batches, joined, strict=True)]
    found = iter(_detect_many([text for unit in units for text in unit], policy))
    results: list[PolicyResult | ServiceError] = []
    for texts, unit, join in zip(batches, units, joined, strict=True):
        done = applied(unit, [next(found) for _ in unit])
        out = done[0].text.split(_JOIN) if join else [a.text for a in done]
        if len(out) != len(texts):  # a detected span crossed a separator
            done = applied(texts, _detect_many(texts, policy))
            out = [a.text for a in done]
        results.append(_policy_result(out, done, policy, manifest, purpose))
    return results


def _policy_result(
    out: list[str], applied: list[Applied], policy: PiiPolicy, manifest: dict[str, object], purpose: str
) -> PolicyResult | ServiceError:
    counts: Counter[str] = Counter()
    findings: dict[tuple[str, str], Finding] = {}
    blocked: set[str] = set()
    for a in applied:
        counts.update(a.counts)
        blocked.update(a.blocked)
        for finding in a.findings:
            findings.setdefault((finding.entity_type, finding.value_hash), finding)
    if blocked and purpose == DOCUMENT:
        types = ", ".join(f"{ENTITY_TYPES.get(t, t)} ({t})" for t in sorted(blocked))
        rule = f"residency rule #{policy.rule_id}" if policy.rule_id else "the tenant's PII policy"
        return ServiceError(
            "pii_blocked",
            f"The document contains {types}, which {rule} blocks; nothing from it was indexed.",
            status_code=422,
        )
    spans = [span for a in applied for span in a.spans]
    return PolicyResult(out, dict(sorted(counts.items())), list(findings.values()), manifest, spans)


def pii_policy_apply(
    *,
    tenant: Tenant,
    texts: list[str],
    purpose: str = DOCUMENT,
) -> PolicyResult:
    """Detect and rewrite `texts` under the tenant's policy.

    purpose="document": a type whose action is block refuses the whole document (ServiceError pii_blocked, which
    ingestion records as a permanent failure). purpose="question": block acts as redact (a question is not
    stored), and pseudonyms are computed but nothing is written to the vault, so that a question about a person
    finds the passages carrying that person's token.
    """
    result = pii_policy_apply_many(tenant=tenant, batches=[texts], purpose=purpose)[0]
    if isinstance(result, ServiceError):
        raise result
    return result


def pii_redact_text(*, tenant: Tenant, text: str) -> str:
    """A question or other transient text, rewritten under the tenant's policy (see pii_policy_apply)."""
    return pii_policy_apply(tenant=tenant, texts=[text], purpose=QUESTION).texts[0]


CONFIRMED, REJECTED = "confirmed", "rejected"
# (entity type, keyed hash of the value) -> CONFIRMED or REJECTED: a reviewer's decisions on one document's values,
# by value rather than position, so that they hold when an earlier decision (a new deny term) moves the text
Decisions = dict[tuple[str, str], str]


@dataclass(frozen=True)
class Uncertain:
    """A value only the second pass found: where (text index and offsets in that text before rewriting), its
    type, score and keyed hash, what the policy does with it (REDACT, HOLD, ALLOW) and a reviewer's decision."""

    text_index: int
    start: int
    end: int
    entity_type: str
    score: float
    value_hash: str
    mode: str
    decision: str = ""

    @property
    def pending(self) -> bool:
        return self.mode == HOLD and not self.decision


@dataclass
class SecondPass:
    """The second pass over one document's texts as they would be stored: the rewritten texts and what was found."""

    result: PolicyResult
    uncertain: list[Uncertain]

    @property
    def held(self) -> bool:
        return any(u.pending for u in self.uncertain)


def pii_second_pass(
    *,
    tenant: Tenant,
    batches: list[list[str]],
    threshold: float,
    decisions: list[Decisions] | None = None,
) -> list[SecondPass | ServiceError]:
    """The stricter pass every document gets before it is stored: its texts as they will be stored (already
    through `pii_policy_apply_many`) are analysed again, each on its own, at `threshold` (the leak scan's), so
    that what a later leak scan would find, ingestion finds first. Each value found is treated by its type's
    `uncertain` setting (a value scoring at least the type's own threshold is always rewritten: only its context
    hid it from the first pass): REDACT rewrites it under the type's action, ALLOW keeps it, HOLD keeps it rewritten
    but marks the document for review, unless `decisions` (a reviewer's, per batch) confirmed (rewrite) or
    rejected (keep) it already. A type whose action is block refuses the document, as in the first pass."""
    policy = pii_policy(tenant=tenant)
    strict = policy.stricter(threshold)
    key = tenant_hash_key(tenant.pk)
    manifest = {**policy.describe(), "detector": detector_version(), "second_pass_threshold": threshold}
    found = iter(_detect_many([text for texts in batches for text in texts], strict))
    rounds: list[list[list[Applied]]] = []  # per batch, per text: each round's rewriting
    uncertain_by: list[list[Uncertain]] = []
    for n, texts in enumerate(batches):
        decided = decisions[n] if decisions else {}
        uncertain: list[Uncertain] = []
        per_text: list[list[Applied]] = []
        for index, text in enumerate(texts):
            kept = []
            for span in select_spans(text, next(found), strict):
                mode, digest = _second_mode(policy, key, text, span)
                decision = decided.get((span.entity_type, digest), "") if mode == HOLD else ""
                uncertain.append(
                    Uncertain(
                        index, span.start, span.end, span.entity_type, round(span.score, 3), digest, mode, decision
                    )
                )
                if mode == ALLOW or decision == REJECTED:
                    continue
                kept.append(span)
            per_text.append([apply_policy(text, kept, policy, key=key)])
        rounds.append(per_text)
        uncertain_by.append(uncertain)
    # A rewritten text is a new context: analyse it again until nothing more is found, so that the leak scan, which
    # reads the stored text, finds nothing either. What only a later round finds is redacted (a reviewer could not
    # place it in the text they are shown), unless its type allows it or a reviewer rejected the value.
    for _ in range(MAX_SECOND_PASS_ROUNDS):
        changed = [(n, i) for n, per_text in enumerate(rounds) for i, done in enumerate(per_text) if done[-1].spans]
        if not changed:
            break
        texts_now = [rounds[n][i][-1].text for n, i in changed]
        for (n, i), text, spans in zip(changed, texts_now, _detect_many(texts_now, strict), strict=True):
            decided = decisions[n] if decisions else {}
            kept = []
            for span in select_spans(text, spans, strict):
                mode, digest = _second_mode(policy, key, text, span)
                if mode == ALLOW or decided.get((span.entity_type, digest)) == REJECTED:
                    continue
                kept.append(span)
            rounds[n][i].append(apply_policy(text, kept, policy, key=key))
    out: list[SecondPass | ServiceError] = []
    for per_text, uncertain in zip(rounds, uncertain_by, strict=True):
        applied = [a for done in per_text for a in done]
        result = _policy_result([done[-1].text for done in per_text], applied, policy, manifest, DOCUMENT)
        out.append(result if isinstance(result, ServiceError) else SecondPass(result, uncertain))
    return out


MAX_SECOND_PASS_ROUNDS = 3


def _second_mode(policy: PiiPolicy, key: bytes, text: str, span: Span) -> tuple[str, str]:
    """(what to do, keyed hash) for a span of the second pass. What scores as high as the first pass asks was
    missed there only for its context: always redacted."""
    treatment = policy.treatments.get(span.entity_type)
    confident = treatment is None or span.score >= treatment.threshold
    mode = REDACT if confident else policy.uncertain_for(span.entity_type)
    return mode, value_hash(key, span.entity_type, text[span.start : span.end])
