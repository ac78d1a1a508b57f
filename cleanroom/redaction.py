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
    Applied,
    Finding,
    PiiPolicy,
    apply_policy,
    custom_spans,
    select_spans,
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
    return [spans + custom_spans(text, policy.recognizers) for text, spans in zip(texts, found, strict=True)]


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
