"""The review queue: documents the second pass held (status `held`) wait here for a reviewer (role reviewer or
admin), who confirms or rejects each uncertain value and releases the document, which then runs through the
pipeline again with those decisions. A rejected value can become an allow term of the tenant, a confirmed one a
deny term (found wherever it occurs from then on). Decisions are audited by type and position, never by value."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from cleanroom.audit.services import audit_record
from cleanroom.errors import ServiceError
from cleanroom.policies.models import AllowTerm, DenyTerm
from cleanroom.tenants.models import Tenant
from ingestion.models import Document, ReviewItem
from ingestion.quarantine import review_texts
from ingestion.steps import document_enqueue, steps_append, store_alias

Decision = ReviewItem.Decision


def review_queue(*, tenant: Tenant) -> QuerySet[Document]:
    """The tenant's held documents, oldest first, each with its number of pending values."""
    return (
        Document.objects.filter(tenant=tenant, status=Document.Status.HELD)
        .annotate(pending=Count("review_items", filter=Q(review_items__decision=Decision.PENDING)))
        .order_by("updated_at")
    )


@dataclass(frozen=True)
class Segment:
    text: str
    item: ReviewItem | None = None  # set: an uncertain value, shown highlighted with its decision


@dataclass(frozen=True)
class ReviewText:
    index: int
    segments: list[Segment]


def review_document_texts(*, document: Document) -> list[ReviewText]:
    """The held document's stored texts (first-pass redacted) that hold uncertain values, cut into segments
    around them. Empty when the texts are gone (the document was released or deleted meanwhile)."""
    texts = review_texts(document.pk)
    if texts is None:
        return []
    by_text: dict[int, list[ReviewItem]] = {}
    for item in ReviewItem.objects.filter(document=document).order_by("text_index", "start"):
        by_text.setdefault(item.text_index, []).append(item)
    out: list[ReviewText] = []
    for index, items in sorted(by_text.items()):
        if index >= len(texts):
            continue
        text, cursor, segments = texts[index], 0, []
        for item in items:
            if item.start < cursor or item.end > len(text):
                continue  # overlapping spans were resolved before; never show one twice
            segments += [Segment(text[cursor : item.start]), Segment(text[item.start : item.end], item)]
            cursor = item.end
        segments.append(Segment(text[cursor:]))
        out.append(ReviewText(index, segments))
    return out


def _pending_count(document: Document) -> int:
    return ReviewItem.objects.filter(document=document, decision=Decision.PENDING).count()


def _held(document: Document) -> None:
    if document.status != Document.Status.HELD:
        raise ServiceError("not_held", "This document is not held for review.", status_code=409)


def review_decide(
    *,
    document: Document,
    actor: User | AnonymousUser | None,
    decisions: dict[int, str],
    remember: set[int] | frozenset[int] = frozenset(),
) -> dict[str, int]:
    """Record `decisions` (review item id -> confirmed or rejected) for a held document. A decision applies to
    every occurrence of the same value in the document. Items in `remember` also change the tenant's policy: a
    rejected value becomes an allow term, a confirmed one a deny term."""
    _held(document)
    if any(value not in (Decision.CONFIRMED, Decision.REJECTED) for value in decisions.values()):
        raise ServiceError("invalid_input", "Each decision is 'confirmed' or 'rejected'.", status_code=400)
    items = {item.pk: item for item in ReviewItem.objects.filter(document=document, pk__in=list(decisions))}
    unknown = set(decisions) - set(items)
    if unknown:
        raise ServiceError("not_found", "No such review item in this document.", status_code=404)
    texts = review_texts(document.pk) or []
    now = timezone.now()
    allowed = denied = 0
    changed: list[dict[str, object]] = []
    with transaction.atomic(using=store_alias()):
        for pk, decision in decisions.items():
            item = items[pk]
            same = ReviewItem.objects.filter(
                document=document, entity_type=item.entity_type, value_hash=item.value_hash
            ).exclude(decision=decision)
            changed += [
                {"entity_type": t, "text": i, "start": s, "end": e, "decision": decision}
                for t, i, s, e in same.values_list("entity_type", "text_index", "start", "end")
            ]
            same.update(decision=decision, decided_by=actor, decided_at=now)
            if pk not in remember or item.text_index >= len(texts):
                continue
            value = " ".join(texts[item.text_index][item.start : item.end].split())
            if len(value) < 2:
                continue
            if decision == Decision.REJECTED:
                allowed += AllowTerm.objects.get_or_create(tenant=document.tenant, term=value[:200])[1]
            else:
                denied += DenyTerm.objects.get_or_create(
                    tenant=document.tenant, term=value[:200], entity_type=item.entity_type
                )[1]
    pending = _pending_count(document)
    audit_record(
        tenant=document.tenant,
        actor=actor,
        action="review.decided",
        target=document,
        details={
            "decisions": changed[:500],
            "allow_terms_added": allowed,
            "deny_terms_added": denied,
            "pending": pending,
        },
    )
    return {"decided": len(changed), "pending": pending, "allow_terms_added": allowed, "deny_terms_added": denied}


def review_release(*, document: Document, actor: User | AnonymousUser | None) -> Document:
    """Send a held document, every value decided, through the pipeline again: confirmed values are redacted,
    rejected ones kept, and the document becomes searchable."""
    _held(document)
    pending = _pending_count(document)
    if pending:
        raise ServiceError(
            "review_incomplete",
            f"{pending} value(s) still wait for a decision; confirm or reject each before releasing.",
            status_code=409,
        )
    now = timezone.now()
    updated = Document.objects.filter(pk=document.pk, status=Document.Status.HELD).update(
        status=Document.Status.QUEUED,
        step_started_at=now,
        updated_at=now,
        steps=steps_append(Document.Status.QUEUED, note="released after review"),
    )
    if not updated:
        raise ServiceError("not_held", "This document is not held for review.", status_code=409)
    decided = dict(
        ReviewItem.objects.filter(document=document).values_list("decision").annotate(n=Count("id")).order_by()
    )
    audit_record(
        tenant=document.tenant,
        actor=actor,
        action="review.released",
        target=document,
        details={"confirmed": decided.get(Decision.CONFIRMED, 0), "rejected": decided.get(Decision.REJECTED, 0)},
    )
    transaction.on_commit(lambda: document_enqueue(document_id=document.pk), using=store_alias())
    document.refresh_from_db()
    return document
