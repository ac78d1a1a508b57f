"""Conversations: a follow-up is rewritten into a question that stands alone, then answered like any question.

"How many days of annual leave?" then "and how many for contractors?": searched as is, the follow-up finds whatever
mentions contractors. It is rewritten first, from the earlier turns, into "How many days of annual leave for
contractors?"; that is what retrieval, the prompt and the support check see, what the user is shown and what the
audit trail records. The answer model may write the rewrite, but a rule-based rewrite is always there and is used
whenever the model's would add a word the conversation does not contain or drop one of the follow-up's.

Every text here has been through the redaction door (cleanroom/redaction.py) before it is stored or rewritten, so
the rewrite only ever recombines redacted words.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from cleanroom.audit.services import audit_record
from cleanroom.errors import ServiceError
from cleanroom.extensions import ErasureRequest
from cleanroom.pii.policy import TOKEN_HEX
from cleanroom.policies.models import ResidencyRule
from cleanroom.policies.selectors import tenant_policy
from cleanroom.redaction import QUESTION, pii_policy_apply, pii_redact_text
from cleanroom.residency import check_processing_allowed
from cleanroom.routing import current_alias, tenant_scope
from cleanroom.tenants.models import Tenant
from retrieval.llm import Sampling, answer_backend, backend_chat
from retrieval.models import AnswerFeedback, Conversation, Message
from retrieval.services import Answer, PreparedQuestion, Token, answer_stream, question_prepare

UNCHANGED, RULES, MODEL = "unchanged", "rules", "model"
TITLE_CHARS = 200
TRANSCRIPT_TURNS = 6  # earlier messages the model sees when it rewrites (the rules need only the last question)
TRANSCRIPT_CHARS = 400  # per earlier message: answers are long, the rewrite needs their gist
REWRITE_MAX_TOKENS = 64

# --- The rewrite, pure ----------------------------------------------------------------------------------------

_TOKEN = re.compile(r"<[A-Za-z0-9_]+>|[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
_CONNECTIVE = re.compile(r"^\s*(?:and|but|also|so|then|ok(?:ay)?|well|now|plus|or)\b[\s,]*", re.IGNORECASE)
_ABOUT = re.compile(r"^(?:what|how)\s+about\s+", re.IGNORECASE)
# Longest first: "how many" must win over "how".
_WH = sorted(
    (
        "how many",
        "how much",
        "how long",
        "how often",
        "how far",
        "how soon",
        "what kind of",
        "is there",
        "are there",
        "what",
        "which",
        "when",
        "where",
        "who",
        "whom",
        "whose",
        "why",
        "how",
        "is",
        "are",
        "do",
        "does",
        "did",
        "can",
        "could",
        "may",
        "must",
        "should",
        "will",
        "would",
    ),
    key=len,
    reverse=True,
)
_LEADS = frozenset(word for phrase in _WH for word in phrase.split())
PREPOSITIONS = frozenset(
    "for in at on with during after before under by about of from to within without per over into across".split()
)
ANAPHORA = frozenset("it its they them their theirs this that these those he she him her his hers same such".split())
_STOPWORDS = frozenset(
    "a an the and or but so also then of to in on at by for with from about as is are was were be been being do does "
    "did have has had can could may might must shall should will would i we you me my our your there here any some "
    "all no not than more most please tell me ok okay well now plus get got".split()
)
_PREFIX = re.compile(r"^\s*(?:standalone|rewritten|reformulated)?\s*question\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Rewrite:
    """The question that is searched and answered, and who wrote it: `unchanged` (it stood alone), `rules` or
    `model`."""

    question: str
    method: str

    @property
    def changed(self) -> bool:
        return self.method != UNCHANGED


def _words(text: str) -> list[str]:
    return [w.lower() for w in _TOKEN.findall(text)]


def _norm(word: str) -> str:
    # Plural and singular alike ("contractor"/"contractors"), so that neither guard fails on inflection alone.
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _content(words: Iterable[str]) -> list[str]:
    return [w for w in words if w not in _STOPWORDS and w not in ANAPHORA and w not in _LEADS]


def _body(text: str) -> str:
    return text.strip().rstrip("?.!。 \t\n").strip()


def _sentence(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return (text[:1].upper() + text[1:]).rstrip("?.! ") + "?"


def _shared_lead(previous: str, body: str) -> str:
    low_prev, low_body = previous.lower(), body.lower()
    for phrase in _WH:
        if (low_body == phrase or low_body.startswith(phrase + " ")) and (
            low_prev == phrase or low_prev.startswith(phrase + " ")
        ):
            return body[: len(phrase)]
    return ""


def _extend(previous: str, fragment: str) -> str:
    """The previous question narrowed by a fragment: by itself when it is a prepositional phrase ("for
    contractors"), in parentheses otherwise."""
    fragment = fragment.strip(" ,")
    words = _words(fragment)
    if words and words[0] in PREPOSITIONS:
        return _sentence(f"{previous} {fragment}")
    return _sentence(f"{previous} ({fragment})")


def rules_rewrite(previous: str, followup: str) -> str:
    """The follow-up as a question that stands alone, given the previous question (itself standalone): the
    deterministic rewrite. A follow-up that already stands alone comes back unchanged.

    Recognised: a narrowing fragment ("and for contractors?", "what about interns?", "and how many for contractors?"
    after "How many days of annual leave?") extends the previous question; a short question that points back ("when
    does it start?") gets the previous question's content words in parentheses."""
    previous = _body(previous)
    if not previous:
        return followup
    text = followup.strip()
    connective = _CONNECTIVE.match(text)
    if connective:
        text = text[connective.end() :]
    body = _body(text)
    if not body:
        return _sentence(previous)
    about = _ABOUT.match(body)
    if about:
        return _extend(previous, body[about.end() :])
    words = _words(body)
    lead = _shared_lead(previous, body)
    if lead:
        rest = body[len(lead) :].strip(" ,")
        rest_words = _words(rest)
        if not rest_words:
            return _sentence(previous)
        if rest_words[0] in PREPOSITIONS:
            return _extend(previous, rest)
    if words and words[0] in PREPOSITIONS:
        return _extend(previous, body)
    content = _content(words)
    leads_with_question = bool(words) and words[0] in _LEADS
    if not leads_with_question and len(words) <= 4 and content:  # a bare fragment: "contractors?", "sick leave?"
        return _extend(previous, body)
    points_back = bool(ANAPHORA.intersection(words)) and len(content) <= 5
    if not (points_back or (connective and len(content) <= 1)):
        return followup
    have = {_norm(w) for w in content}
    missing: list[str] = []
    for token in _TOKEN.findall(previous):
        word = token.lower()
        if word in _content([word]) and _norm(word) not in have and token not in missing:
            missing.append(token)
    if not missing:
        return followup
    return _sentence(f"{body} ({' '.join(missing)})")


REWRITE_SYSTEM_PROMPT = (
    "You rewrite the user's last question so that it can be understood without the conversation before it. "
    "Keep its meaning, use only words from the conversation, and do not answer it. "
    "Reply with the rewritten question only."
)


def rewrite_messages(transcript: list[tuple[str, str]], followup: str) -> list[dict[str, str]]:
    lines = [f"{'User' if role == 'user' else 'Assistant'}: {text[:TRANSCRIPT_CHARS]}" for role, text in transcript]
    conversation = "\n".join(lines[-TRANSCRIPT_TURNS:])
    return [
        {"role": "system", "content": REWRITE_SYSTEM_PROMPT},
        {"role": "user", "content": f"Conversation:\n{conversation}\n\nLast question: {followup}\n\nRewritten:"},
    ]


def model_rewrite_accept(candidate: str, *, previous: str, followup: str, transcript_text: str) -> str | None:
    """The model's rewrite if it is safe to use, else None. It must be one question of sensible length that keeps
    every content word of the follow-up, takes at least one from the previous question, and adds none that the
    conversation does not contain: a rewrite may resolve what the follow-up points to, never invent."""
    line = next((ln.strip() for ln in candidate.strip().splitlines() if ln.strip()), "")
    line = _PREFIX.sub("", line).strip().strip("\"'`“”").strip()
    if not 5 <= len(line) <= 400 or re.search(r"\[\d{1,2}\]", line):
        return None
    got = {_norm(w) for w in _content(_words(line))}
    need = {_norm(w) for w in _content(_words(followup))}
    context = {_norm(w) for w in _content(_words(previous))} - need
    allowed = {_norm(w) for w in _content(_words(f"{transcript_text} {previous} {followup}"))}
    if not need <= got or not (got & context) or not got <= allowed:
        return None
    return _sentence(line)


def question_rewrite(
    *,
    tenant: Tenant,
    previous: str,
    followup: str,
    transcript: list[tuple[str, str]],
    model: str | None = None,
    use_model: bool = True,
) -> Rewrite:
    """The standalone form of `followup` (redacted), from the previous standalone question and the earlier turns
    (redacted). The model is asked only when the rules find that the follow-up depends on the conversation; its
    rewrite is used if `model_rewrite_accept` passes it, the rules' otherwise."""
    ruled = rules_rewrite(previous, followup)
    if ruled == followup:
        return Rewrite(followup, UNCHANGED)
    if use_model:
        try:
            backend = answer_backend(model)
            # The rewrite sends the conversation to the model: the same residency check as an answer.
            check_processing_allowed(tenant_policy(tenant=tenant), backend_region=backend.region, what="answer model")
            text = backend_chat(
                backend,
                rewrite_messages(transcript, followup),
                Sampling(seed=settings.LLM_SEED, max_tokens=REWRITE_MAX_TOKENS),
            )
        except ServiceError:
            text = ""  # no model, or not allowed here: the rules' rewrite stands
        transcript_text = " ".join(t for _, t in transcript)
        accepted = model_rewrite_accept(text, previous=previous, followup=followup, transcript_text=transcript_text)
        if accepted:
            return Rewrite(accepted, MODEL)
    return Rewrite(ruled, RULES)


_FOOTER = re.compile(r"\n\n(?:Sources|Closest passages|Question as understood):.*", re.DOTALL)


def transcript_rewrite(
    *, tenant: Tenant, user: User | None, messages: list[tuple[str, str]], model: str | None = None
) -> Rewrite:
    """For a client that sends the whole history (the OpenAI endpoint): `messages` are (role, text) of the user
    and assistant messages, the last one the user's question. All of them go through the redaction door, in one
    pass; the earlier user questions are folded into standalone form by the rules, the last one by
    `question_rewrite`. Audited when there is history."""
    texts = [_FOOTER.sub("", text) for _, text in messages]
    redacted = pii_policy_apply(tenant=tenant, texts=texts, purpose=QUESTION).texts if texts else []
    turns = [(role, text) for (role, _), text in zip(messages, redacted, strict=True)]
    *earlier, (_, last) = turns
    if not any(role == "user" for role, _ in earlier):
        return Rewrite(last, UNCHANGED)
    previous = ""
    for role, text in earlier:
        if role == "user":
            previous = rules_rewrite(previous, text) if previous else text
    rewrite = question_rewrite(tenant=tenant, previous=previous, followup=last, transcript=earlier, model=model)
    audit_record(
        tenant=tenant,
        actor=user,
        action="conversation.rewritten",
        details={
            "source": "openai",
            "question": last,
            "standalone_question": rewrite.question,
            "method": rewrite.method,
            "history_messages": len(earlier),
        },
    )
    return rewrite


# --- Conversations: reads -------------------------------------------------------------------------------------


def conversation_list(*, tenant: Tenant, user: User) -> QuerySet[Conversation]:
    return (
        Conversation.objects.filter(tenant=tenant, user=user)
        .annotate(message_count=Count("messages"))
        .order_by("-updated_at", "-created_at")
    )


def conversation_get(*, tenant: Tenant, user: User, conversation_id: Any) -> Conversation | None:
    """The user's own conversation in this tenant; None when it is missing or anyone else's (alike)."""
    try:
        pk = uuid.UUID(str(conversation_id))
    except ValueError:
        return None
    return Conversation.objects.filter(tenant=tenant, user=user, pk=pk).first()


def conversation_messages(*, conversation: Conversation) -> list[Message]:
    return list(
        Message.objects.filter(tenant_id=conversation.tenant_id, conversation=conversation).order_by("created_at", "pk")
    )


def _previous_standalone(messages: list[Message]) -> str:
    for message in reversed(messages):
        if message.role == Message.Role.USER:
            return message.standalone_question or message.text
    return ""


# --- Conversations: writes ------------------------------------------------------------------------------------


def conversation_create(*, tenant: Tenant, user: User, title: str = "") -> Conversation:
    title = pii_redact_text(tenant=tenant, text=title.strip())[:TITLE_CHARS] if title.strip() else ""
    conversation = Conversation.objects.create(tenant=tenant, user=user, title=title)
    audit_record(tenant=tenant, actor=user, action="conversation.created", target=conversation, details={})
    return conversation


def conversation_delete(*, tenant: Tenant, user: User, conversation: Conversation) -> None:
    conversation_id = str(conversation.pk)
    with transaction.atomic(using=current_alias()):
        messages = Message.objects.filter(tenant=tenant, conversation=conversation).count()
        conversation.delete()
    audit_record(
        tenant=tenant,
        actor=user,
        action="conversation.deleted",
        details={"conversation_id": conversation_id, "messages": messages},
    )


@dataclass
class PreparedTurn:
    """A user's message stored and rewritten, its answer prepared: errors (residency, model) have surfaced."""

    conversation: Conversation
    question: Message
    rewrite: Rewrite
    prepared: PreparedQuestion


@dataclass
class TurnResult:
    question: Message
    answer_message: Message
    answer: Answer


def turn_prepare(
    *, tenant: Tenant, user: User, conversation: Conversation, text: str, top_k: int, model: str | None = None
) -> PreparedTurn:
    """Redact the user's message, rewrite it into a standalone question from the conversation so far, prepare its
    answer (retrieval, prompt), then store the message and audit the rewrite. Nothing is stored when preparing
    fails (a forbidden region, a missing model)."""
    redacted = pii_redact_text(tenant=tenant, text=text)
    history = conversation_messages(conversation=conversation)
    transcript = [(m.role, m.standalone_question or m.text) for m in history]
    rewrite = question_rewrite(
        tenant=tenant,
        previous=_previous_standalone(history),
        followup=redacted,
        transcript=transcript,
        model=model,
    )
    # A question that stands alone goes in as typed, so that it is redacted exactly once, as /api/v1/query does.
    asked = rewrite.question if rewrite.changed else text
    prepared = question_prepare(tenant=tenant, question=asked, top_k=top_k, model=model)
    with transaction.atomic(using=current_alias()):
        question = Message.objects.create(
            conversation=conversation,
            tenant=tenant,
            role=Message.Role.USER,
            text=redacted,
            standalone_question=prepared.question,  # exactly what was searched and prompted
            rewrite_method=rewrite.method,
        )
        if not conversation.title:
            conversation.title = prepared.question[:TITLE_CHARS]
        conversation.save(update_fields=["title", "updated_at"])
    audit_record(
        tenant=tenant,
        actor=user,
        action="conversation.asked",
        target=question,
        details={
            "conversation_id": str(conversation.pk),
            "message_id": question.pk,
            "question": redacted,
            "standalone_question": prepared.question,
            "method": rewrite.method,
            "history_messages": len(history),
        },
    )
    return PreparedTurn(conversation, question, Rewrite(prepared.question, rewrite.method), prepared)


def turn_stream(*, turn: PreparedTurn, user: User) -> Iterator[Token | TurnResult]:
    """The answer's tokens as the model writes them, then the stored answer message."""
    for item in answer_stream(prepared=turn.prepared, user=user):
        if isinstance(item, Token):
            yield item
            continue
        # A streamed response runs after the request's tenant scope has been left: enter it again to store.
        with tenant_scope(turn.conversation.tenant):
            answer_message = Message.objects.create(
                conversation=turn.conversation,
                tenant=turn.conversation.tenant,
                role=Message.Role.ASSISTANT,
                text=item.answer,
                citations=[asdict(citation) for citation in item.citations],
                abstained=item.abstained,
                abstain_reason=item.abstain_reason,
                model=item.model,
            )
            Conversation.objects.filter(pk=turn.conversation.pk).update(updated_at=timezone.now())
        yield TurnResult(turn.question, answer_message, item)


def turn_answer(
    *, tenant: Tenant, user: User, conversation: Conversation, text: str, top_k: int, model: str | None = None
) -> TurnResult:
    turn = turn_prepare(tenant=tenant, user=user, conversation=conversation, text=text, top_k=top_k, model=model)
    *_, result = turn_stream(turn=turn, user=user)
    assert isinstance(result, TurnResult)
    return result


# --- Retention, erasure, leak scan ----------------------------------------------------------------------------


def conversation_retention_purge(*, now: Any = None) -> int:
    """Delete conversations untouched for longer than their tenant's retention period, and older messages of the
    ones still in use; one audit entry per tenant with counts. Run by the periodic task beside the documents'."""
    now = now or timezone.now()
    total = 0
    for rule in ResidencyRule.objects.filter(retention_days__isnull=False).select_related("tenant"):
        cutoff = now - timedelta(days=rule.retention_days or 0)  # the filter excludes None
        with tenant_scope(rule.tenant) as alias, transaction.atomic(using=alias):
            expired = Conversation.objects.filter(tenant=rule.tenant, updated_at__lt=cutoff)
            conversations = expired.count()
            # Messages older than the period go too, also from conversations still in use.
            _, deleted = Message.objects.filter(
                Q(created_at__lt=cutoff) | Q(conversation__in=expired), tenant=rule.tenant
            ).delete()
            messages = deleted.get(Message._meta.label, 0)
            expired.delete()
        if conversations or messages:
            audit_record(
                tenant=rule.tenant,
                actor=None,
                action="retention.conversations_purged",
                details={
                    "conversations": conversations,
                    "messages": messages,
                    "retention_days": rule.retention_days,
                    "rule_id": rule.pk,
                },
            )
            total += conversations + messages
    return total


def _json_rewrite(value: Any, request: ErasureRequest) -> Any:
    if isinstance(value, str):
        return request.rewrite(value)
    if isinstance(value, list):
        return [_json_rewrite(v, request) for v in value]
    if isinstance(value, dict):
        return {k: _json_rewrite(v, request) for k, v in value.items()}
    return value


def _mentions(fields: list[str], request: ErasureRequest) -> Q:
    condition = Q()
    for name in fields:
        condition |= Q(**{f"{name}__iregex": request.db_pattern})
        for token in request.tokens:
            condition |= Q(**{f"{name}__contains": token})
        for digest in {h[:TOKEN_HEX] for h in request.hashes}:  # a question's pseudonym, never in the vault
            condition |= Q(**{f"{name}__contains": f"_{digest}>"})
    return condition


def conversations_erase(request: ErasureRequest) -> dict[str, Any]:
    """The erasure hook (cleanroom/extensions.py): every message, conversation title and feedback comment of the
    tenant that mentions the identifier or carries one of its pseudonyms. mode=redact rewrites them as the documents
    are rewritten; mode=remove deletes the messages (and with them their feedback). Runs inside the erasure's
    transaction, before its every-table verification scan, which therefore covers conversation text too."""
    tenant = request.tenant
    messages = list(
        Message.objects.annotate(citations_text=Cast("citations", TextField()))
        .filter(_mentions(["text", "standalone_question", "citations_text"], request), tenant=tenant)
        .order_by("pk")
    )
    titles = list(Conversation.objects.filter(_mentions(["title"], request), tenant=tenant))
    comments = list(AnswerFeedback.objects.filter(_mentions(["comment"], request), tenant=tenant))
    counts = {
        "conversation_messages": len(messages),
        "conversation_titles": len(titles),
        "feedback_comments": len(comments),
    }
    if request.dry_run:
        return counts
    if request.mode == "remove":
        Message.objects.filter(tenant=tenant, pk__in=[m.pk for m in messages]).delete()
    else:
        for message in messages:
            message.text = request.rewrite(message.text)
            message.standalone_question = request.rewrite(message.standalone_question)
            message.citations = _json_rewrite(message.citations, request)
        Message.objects.bulk_update(messages, ["text", "standalone_question", "citations"])
    for conversation in titles:
        Conversation.objects.filter(pk=conversation.pk).update(title=request.rewrite(conversation.title))
    for feedback in comments:
        AnswerFeedback.objects.filter(pk=feedback.pk).update(comment=request.rewrite(feedback.comment))
    return counts


def conversation_texts(tenant: Tenant) -> Iterator[tuple[str, str, str]]:
    """The leak-scan source (cleanroom/extensions.py): every stored conversation text of the tenant."""
    rows = Message.objects.filter(tenant=tenant).values_list("pk", "text", "standalone_question")
    for pk, text, standalone in rows.iterator(chunk_size=500):
        yield "conversation_message", str(pk), text
        if standalone and standalone != text:
            yield "conversation_message", str(pk), standalone
    for conversation_id, title in (
        Conversation.objects.filter(tenant=tenant).exclude(title="").values_list("pk", "title")
    ):
        yield "conversation", str(conversation_id), title
    comments = AnswerFeedback.objects.filter(tenant=tenant).exclude(comment="").values_list("pk", "comment")
    for feedback_id, comment in comments:
        yield "answer_feedback", str(feedback_id), comment
