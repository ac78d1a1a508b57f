from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from cleanroom.access.resolution import request_actor, request_tenant
from cleanroom.access.web import tenant_view
from cleanroom.errors import ServiceError
from retrieval.llm import available_models
from retrieval.services import question_answer


@require_http_methods(["GET", "POST"])
@tenant_view()
def ask(request: HttpRequest) -> HttpResponse:
    """The ask page. Its script streams answers from the query API; this POST is the no-JavaScript fallback."""
    models = available_models()
    context: dict[str, object] = {
        "question": "",
        "top_k": 5,
        "max_top_k": settings.MAX_TOP_K,
        "models": models,
        "model": models[0] if models else "",
    }
    if request.method == "POST":
        question = request.POST.get("question", "").strip()
        try:
            top_k = min(max(int(request.POST.get("top_k", 5)), 1), settings.MAX_TOP_K)
        except ValueError:
            top_k = 5
        model = request.POST.get("model") or None
        context.update(question=question, top_k=top_k, model=model or context["model"])
        if not question:
            context["error"] = "Type a question first."
        else:
            try:
                context["answer"] = question_answer(
                    tenant=request_tenant(request),
                    user=request_actor(request),
                    question=question,
                    top_k=top_k,
                    model=model,
                )
            except ServiceError as exc:
                context["error"] = exc.message
    return render(request, "ask.html", context)
