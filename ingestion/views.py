from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cleanroom.access.resolution import pinned_membership, request_actor, request_tenant
from cleanroom.access.web import tenant_view
from cleanroom.errors import ServiceError
from cleanroom.tenants.models import Role
from cleanroom.vault.display import reveal_permitted, vault_display_start
from ingestion.deletion import document_delete
from ingestion.models import Document
from ingestion.review import review_decide, review_document_texts, review_queue, review_release
from ingestion.selectors import chunk_list, document_get, document_list
from ingestion.upload import document_upload


@require_http_methods(["GET", "POST"])
@tenant_view()
def documents(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if not pinned_membership(request).has_role(Role.EDITOR):
            messages.error(request, "Your role in this tenant does not allow uploading documents.")
            return redirect("web:documents")
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "Choose a file to upload.")
            return redirect("web:documents")
        reingest = request.POST.get("reingest") in ("true", "on", "1")
        try:
            outcome = document_upload(
                tenant=request_tenant(request),
                user=request_actor(request),
                upload=upload,
                title=request.POST.get("title", ""),
                reingest=reingest,
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            if outcome.duplicate and not reingest:
                messages.info(request, "This exact file was already uploaded; nothing new was queued.")
                return redirect("web:document", outcome.document.pk)
            messages.success(request, "Uploaded. Personal data is being removed before the document is indexed.")
        return redirect("web:documents")
    page = Paginator(document_list(tenant=request_tenant(request)), 25).get_page(request.GET.get("page"))
    return render(
        request, "documents/list.html", {"page": page, "can_edit": pinned_membership(request).has_role(Role.EDITOR)}
    )


@require_GET
@tenant_view()
def documents_status(request: HttpRequest) -> JsonResponse:
    """What the list page polls to show live status without reloading."""
    ids = [value for value in request.GET.get("ids", "").split(",") if value][:100]
    rows = []
    for document_id in ids:
        document = document_get(tenant=request_tenant(request), document_id=document_id)
        if document is not None:
            rows.append(
                {
                    "id": str(document.pk),
                    "status": document.status,
                    "status_label": document.get_status_display(),
                    "title": document.display_title,
                    "chunk_count": document.chunk_count,
                    "redacted": document.redaction_total,
                    "error": document.error_message,
                }
            )
    return JsonResponse({"documents": rows})


def _document_or_404(request: HttpRequest, document_id: str) -> Document:
    document = document_get(tenant=request_tenant(request), document_id=document_id)
    if document is None:
        raise Http404("No such document.")
    return document


@require_GET
@tenant_view()
def document_detail(request: HttpRequest, document_id: str) -> HttpResponse:
    document = _document_or_404(request, document_id)
    tenant, user = request_tenant(request), request_actor(request)
    chunks = list(chunk_list(tenant=tenant, document=document)[:200])
    # (chunk, its text and section as shown): with "show names" (?reveal=1), real values in place of pseudonyms.
    shown = [(chunk, chunk.text, chunk.section) for chunk in chunks]
    revealer = None
    if request.GET.get("reveal") == "1":
        try:
            revealer = vault_display_start(tenant=tenant, user=user, token_scopes=None, where="document")
        except ServiceError as exc:
            raise PermissionDenied(exc.message) from exc
        shown = [
            (c, revealer.text(c.text, where="document"), revealer.text(c.section, where="document")) for c in chunks
        ]
    response = render(
        request,
        "documents/detail.html",
        {
            "document": document,
            "chunks": shown,
            "can_edit": pinned_membership(request).has_role(Role.EDITOR),
            "can_reveal": reveal_permitted(tenant=tenant, user=user, token_scopes=None),
            "reveal": revealer is not None,
        },
    )
    if revealer is not None:
        revealer.finish(document_id=str(document.pk))
        response["Cache-Control"] = "no-store"
    return response


@require_POST
@tenant_view(Role.EDITOR)
def document_remove(request: HttpRequest, document_id: str) -> HttpResponse:
    document = _document_or_404(request, document_id)
    document_delete(tenant=request_tenant(request), user=request_actor(request), document=document)
    messages.success(request, "The document, its chunks and its vectors were deleted.")
    return redirect("web:documents")


@require_GET
@tenant_view(Role.REVIEWER)
def review_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(review_queue(tenant=request_tenant(request)), 25).get_page(request.GET.get("page"))
    return render(request, "review/list.html", {"page": page})


@require_http_methods(["GET", "POST"])
@tenant_view(Role.REVIEWER)
def review_document(request: HttpRequest, document_id: str) -> HttpResponse:
    """A held document's uncertain values, highlighted in its text, each with confirm / reject; POST saves them."""
    document = _document_or_404(request, document_id)
    if request.method == "POST":
        decisions: dict[int, str] = {}
        remember: set[int] = set()
        for key, value in request.POST.items():
            if key.startswith("item-") and key[5:].isdigit() and value in ("confirmed", "rejected"):
                decisions[int(key[5:])] = value
            elif key.startswith("remember-") and key[9:].isdigit():
                remember.add(int(key[9:]))
        try:
            if decisions:
                outcome = review_decide(
                    document=document, actor=request_actor(request), decisions=decisions, remember=remember
                )
                messages.success(request, f"Saved. {outcome['pending']} value(s) still wait for a decision.")
            else:
                messages.error(request, "Choose 'personal data' or 'not personal data' for at least one value.")
        except ServiceError as exc:
            messages.error(request, exc.message)
        return redirect("web:review-document", document.pk)
    texts = review_document_texts(document=document)
    pending = sum(1 for t in texts for s in t.segments if s.item is not None and not s.item.decision)
    return render(request, "review/detail.html", {"document": document, "texts": texts, "pending": pending})


@require_POST
@tenant_view(Role.REVIEWER)
def review_release_view(request: HttpRequest, document_id: str) -> HttpResponse:
    document = _document_or_404(request, document_id)
    try:
        review_release(document=document, actor=request_actor(request))
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("web:review-document", document.pk)
    messages.success(request, "Released: the document is processed again with your decisions, then indexed.")
    return redirect("web:document", document.pk)
