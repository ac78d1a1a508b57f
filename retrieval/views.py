from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from cleanroom.access.resolution import request_actor, request_tenant
from cleanroom.access.web import tenant_view
from cleanroom.errors import ServiceError
from cleanroom.tenants.models import Tenant
from cleanroom.vault.display import Revealer, reveal_permitted, vault_display_start
from retrieval.conversations import (
    conversation_create,
    conversation_delete,
    conversation_get,
    conversation_list,
    conversation_messages,
    turn_answer,
)
from retrieval.feedback import answer_get, feedback_for, feedback_give
from retrieval.llm import available_models
from retrieval.models import AnswerFeedback, Conversation, Message

RECENT_CONVERSATIONS = 20


@dataclass
class Turn:
    question: Message
    answer: Message | None
    feedback: AnswerFeedback | None
    # What the page shows: the stored texts, or with real values in place of pseudonyms ("show names"). The
    # messages themselves are never changed, so nothing revealed can be saved by accident.
    question_text: str = ""
    standalone_question: str = ""
    answer_text: str = ""
    citations: list[dict[str, Any]] = field(default_factory=list)


def _turns(conversation: Conversation, user: User, revealer: Revealer | None = None) -> list[Turn]:
    messages = conversation_messages(conversation=conversation)
    ratings = feedback_for(user=user, messages=[m for m in messages if m.role == Message.Role.ASSISTANT])
    show = (lambda text, where: revealer.text(text, where=where)) if revealer else (lambda text, where: text)
    turns: list[Turn] = []
    for message in messages:
        if message.role == Message.Role.USER:
            turns.append(
                Turn(
                    message,
                    None,
                    None,
                    question_text=show(message.text, "question"),
                    standalone_question=show(message.standalone_question, "question"),
                )
            )
        elif turns and turns[-1].answer is None:
            turns[-1].answer = message
            turns[-1].feedback = ratings.get(message.pk)
            turns[-1].answer_text = show(message.text, "answer")
            turns[-1].citations = revealer.citations(message.citations) if revealer else message.citations
    return turns


def _own(tenant: Tenant, user: User, conversation_id: str) -> Conversation:
    conversation = conversation_get(tenant=tenant, user=user, conversation_id=conversation_id)
    if conversation is None:  # someone else's answers exactly like a missing one
        raise Http404("No such conversation.")
    return conversation


@require_http_methods(["GET", "POST"])
@tenant_view()
def ask(request: HttpRequest) -> HttpResponse:
    """The ask page: a conversation with the tenant's documents (its turns, a form for the next question) and the
    user's recent conversations. Server-rendered, so it works without JavaScript."""
    tenant, user = request_tenant(request), request_actor(request)
    assert user is not None  # tenant_view: signed in
    models = available_models()
    conversation_id = request.POST.get("conversation") or request.GET.get("c") or ""
    conversation = _own(tenant, user, conversation_id) if conversation_id else None
    # "Show names": offered to those who may reveal, asked for per page view (?reveal=1, kept by the ask form).
    can_reveal = reveal_permitted(tenant=tenant, user=user, token_scopes=None)
    revealer = None
    if (request.POST.get("reveal") or request.GET.get("reveal")) == "1":
        try:
            revealer = vault_display_start(tenant=tenant, user=user, token_scopes=None, where="answer")
        except ServiceError as exc:
            raise PermissionDenied(exc.message) from exc
    context: dict[str, object] = {
        "question": "",
        "top_k": 5,
        "max_top_k": settings.MAX_TOP_K,
        "models": models,
        "model": models[0] if models else "",
        "can_reveal": can_reveal,
        "reveal": revealer is not None,
    }
    if request.method == "POST":
        question = request.POST.get("question", "").strip()
        try:
            top_k = min(max(int(request.POST.get("top_k", 5)), 1), settings.MAX_TOP_K)
        except ValueError:
            top_k = 5
        model = request.POST.get("model") or None
        context.update(top_k=top_k, model=model or context["model"])
        if not question:
            context.update(error="Type a question first.")
        else:
            try:
                conversation = conversation or conversation_create(tenant=tenant, user=user)
                result = turn_answer(
                    tenant=tenant, user=user, conversation=conversation, text=question, top_k=top_k, model=model
                )
                context["latest"] = result.answer_message.pk
            except ServiceError as exc:
                context.update(error=exc.message, question=question)
    context["conversation"] = conversation
    context["turns"] = _turns(conversation, user, revealer) if conversation else []
    conversations = list(conversation_list(tenant=tenant, user=user)[:RECENT_CONVERSATIONS])
    title = (lambda c: revealer.text(c.title, where="question")) if revealer else (lambda c: c.title)
    context["conversations"] = [(c, title(c)) for c in conversations]
    context["conversation_title"] = title(conversation) if conversation else ""
    response = render(request, "ask.html", context)
    if revealer is not None:
        revealer.finish(conversation_id=str(conversation.pk) if conversation else None, page="ask")
        response["Cache-Control"] = "no-store"  # real values: not for the browser's or a proxy's cache
    return response


@require_POST
@tenant_view()
def ask_feedback(request: HttpRequest) -> HttpResponse:
    tenant, user = request_tenant(request), request_actor(request)
    assert user is not None
    message = answer_get(tenant=tenant, user=user, message_id=request.POST.get("message", ""))
    if message is None:
        raise Http404("No such answer.")
    try:
        feedback_give(
            tenant=tenant,
            user=user,
            message=message,
            rating=request.POST.get("rating", ""),
            comment=request.POST.get("comment", ""),
        )
        flash.success(request, "Thank you: your rating was saved.")
    except ServiceError as exc:
        flash.error(request, exc.message)
    reveal = "&reveal=1" if request.POST.get("reveal") == "1" else ""  # back to the page as it was shown
    return redirect(f"{reverse('web:ask')}?c={message.conversation_id}{reveal}#answer-{message.pk}")


@require_POST
@tenant_view()
def ask_delete(request: HttpRequest, conversation_id: str) -> HttpResponse:
    tenant, user = request_tenant(request), request_actor(request)
    assert user is not None
    conversation_delete(tenant=tenant, user=user, conversation=_own(tenant, user, conversation_id))
    flash.success(request, "The conversation was deleted.")
    return redirect("web:ask")
