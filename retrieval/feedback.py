"""Feedback on answers: a user rates an answer of their own conversation up or down, with an optional comment.

The comment goes through the redaction door like a question (a person may well name someone while complaining
about an answer), is stored, and its redacted form is audited. Rated answers become a QA set
(`python -m bench.feedback_export`), so that corrections feed the evaluation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib.auth.models import User

from cleanroom.audit.services import audit_record
from cleanroom.errors import ServiceError
from cleanroom.redaction import pii_redact_text
from cleanroom.tenants.models import Tenant
from retrieval.models import AnswerFeedback, Message

COMMENT_MAX_CHARS = 2000


def answer_get(*, tenant: Tenant, user: User, message_id: Any) -> Message | None:
    """An answer (assistant message) of one of the user's own conversations in this tenant; None when it is
    missing or anyone else's (alike)."""
    text = str(message_id)
    if not text.isdigit() or len(text) > 18:
        return None
    return (
        Message.objects.filter(
            tenant=tenant,
            pk=int(text),
            role=Message.Role.ASSISTANT,
            conversation__user=user,
            conversation__tenant=tenant,
        )
        .select_related("conversation")
        .first()
    )


def feedback_give(*, tenant: Tenant, user: User, message: Message, rating: str, comment: str = "") -> AnswerFeedback:
    """Store the user's rating of `message` (replacing an earlier one of theirs) and audit it."""
    if rating not in AnswerFeedback.Rating.values:
        raise ServiceError("invalid_input", "rating must be 'up' or 'down'.")
    comment = comment.strip()[:COMMENT_MAX_CHARS]
    redacted = pii_redact_text(tenant=tenant, text=comment) if comment else ""
    feedback, created = AnswerFeedback.objects.update_or_create(
        message=message, user=user, defaults={"tenant": tenant, "rating": rating, "comment": redacted}
    )
    audit_record(
        tenant=tenant,
        actor=user,
        action="answer.rated",
        target=feedback,
        details={
            "message_id": message.pk,
            "conversation_id": str(message.conversation_id),
            "rating": rating,
            "comment": redacted,
            "replaced": not created,
        },
    )
    return feedback


def feedback_for(*, user: User, messages: list[Message]) -> dict[int, AnswerFeedback]:
    """The user's own ratings of `messages`, by message id."""
    if not messages:
        return {}
    rows = AnswerFeedback.objects.filter(
        tenant_id=messages[0].tenant_id, user=user, message_id__in=[m.pk for m in messages]
    )
    return {row.message_id: row for row in rows}


def _kind(*, up: bool, abstained: bool) -> str:
    if up:
        return "unanswerable" if abstained else "answerable"
    # Down on an abstention: the user expected an answer. Down on an answer: wrong, or unanswerable; a person decides.
    return "answerable" if abstained else "needs_label"


def feedback_qa_rows(*, tenant: Tenant, rating: str | None = None) -> Iterator[dict[str, Any]]:
    """Rated answers of the tenant as rows of a QA set in bench/grounding.py's shape (`id`, `kind`, `question`,
    `expect`, `document`) plus what the rating said: redacted texts only, no user names.

    `kind`: answerable for an answer rated up (its text is the reference), unanswerable for an abstention rated up
    (the documents do not say), answerable for an abstention rated down, needs_label for an answer rated down (wrong,
    or not answerable: the comment may say)."""
    rows = AnswerFeedback.objects.filter(tenant=tenant).select_related("message").order_by("created_at", "pk")
    if rating:
        rows = rows.filter(rating=rating)
    for feedback in rows.iterator(chunk_size=200):
        answer = feedback.message
        question = (
            Message.objects.filter(
                tenant=tenant,
                conversation_id=answer.conversation_id,
                role=Message.Role.USER,
                created_at__lte=answer.created_at,
            )
            .order_by("-created_at", "-pk")
            .first()
        )
        if question is None:
            continue
        up = feedback.rating == AnswerFeedback.Rating.UP
        cited = [] if answer.abstained else (answer.citations or [])
        yield {
            "id": f"feedback-{feedback.pk}",
            "kind": _kind(up=up, abstained=answer.abstained),
            "question": question.standalone_question or question.text,
            "expect": [],  # words a right answer must hold: for a person to add from `reference_answer`
            "document": cited[0].get("title", "") if cited else "",
            "document_ids": sorted({str(c["document_id"]) for c in cited if c.get("document_id")}),
            "chunk_ids": [c["chunk_id"] for c in cited if c.get("chunk_id") is not None],
            "asked": question.text,
            "reference_answer": answer.text if up and not answer.abstained else "",
            "answer": answer.text,
            "abstained": answer.abstained,
            "rating": feedback.rating,
            "comment": feedback.comment,
            "model": answer.model,
            "rated_at": feedback.updated_at.isoformat(),
        }
