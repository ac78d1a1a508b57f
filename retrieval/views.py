from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from cleanroom.errors import ServiceError
from cleanroom.tenants.web import tenant_view
from retrieval.services import question_answer


@require_http_methods(["GET", "POST"])
@tenant_view()
def ask(request: HttpRequest) -> HttpResponse:
    context: dict[str, object] = {"question": "", "top_k": 5, "max_top_k": settings.MAX_TOP_K}
    if request.method == "POST":
        question = request.POST.get("question", "").strip()
        try:
            top_k = min(max(int(request.POST.get("top_k", 5)), 1), settings.MAX_TOP_K)
        except ValueError:
            top_k = 5
        context.update(question=question, top_k=top_k)
        if not question:
            context["error"] = "Type a question first."
        else:
            try:
                context["answer"] = question_answer(
                    tenant=request.tenant, user=request.user, question=question, top_k=top_k
                )
            except ServiceError as exc:
                context["error"] = exc.message
    return render(request, "ask.html", context)
