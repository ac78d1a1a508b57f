from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny

from cleanroom import views
from cleanroom.access import api as access_api
from cleanroom.access import views as access_views
from ingestion import api as ingestion_api
from ingestion import metrics as ingestion_metrics
from ingestion import views as ingestion_views
from retrieval import api as retrieval_api
from retrieval import openai_api
from retrieval import views as retrieval_views

api_v1 = [
    path("documents", ingestion_api.DocumentListApi.as_view(), name="documents"),
    path("documents/<str:document_id>", ingestion_api.DocumentDetailApi.as_view(), name="document"),
    path("review", ingestion_api.ReviewListApi.as_view(), name="review"),
    path("review/<str:document_id>", ingestion_api.ReviewDetailApi.as_view(), name="review-document"),
    path("review/<str:document_id>/decisions", ingestion_api.ReviewDecisionsApi.as_view(), name="review-decisions"),
    path("review/<str:document_id>/release", ingestion_api.ReviewReleaseApi.as_view(), name="review-release"),
    path("query", retrieval_api.QueryApi.as_view(), name="query"),
    path("search", retrieval_api.SearchApi.as_view(), name="search"),
    path("conversations", retrieval_api.ConversationListApi.as_view(), name="conversations"),
    path("conversations/<str:conversation_id>", retrieval_api.ConversationDetailApi.as_view(), name="conversation"),
    path(
        "conversations/<str:conversation_id>/messages",
        retrieval_api.ConversationMessagesApi.as_view(),
        name="conversation-messages",
    ),
    path("answers/<str:message_id>/feedback", retrieval_api.AnswerFeedbackApi.as_view(), name="answer-feedback"),
    path("tenant/members", access_api.TenantMemberListApi.as_view(), name="tenant-members"),
    path("tenant/members/<str:member_id>", access_api.TenantMemberDetailApi.as_view(), name="tenant-member"),
    path("tenant/tokens", access_api.TenantTokenListApi.as_view(), name="tenant-tokens"),
    path("tenant/tokens/<str:token_id>", access_api.TenantTokenDetailApi.as_view(), name="tenant-token"),
    # The schema describes the API, not anyone's data: readable without a token, for client generators.
    path("schema", SpectacularAPIView.as_view(permission_classes=[AllowAny], authentication_classes=[]), name="schema"),
]

# OpenAI-compatible, at the paths OpenAI clients expect under a base URL of http://host/v1.
openai_v1 = [
    path("models", openai_api.ModelsApi.as_view(), name="models"),
    path("chat/completions", openai_api.ChatCompletionsApi.as_view(), name="chat-completions"),
]

web = [
    path("", RedirectView.as_view(pattern_name="web:documents", permanent=False), name="home"),
    path("documents/", ingestion_views.documents, name="documents"),
    path("documents/status", ingestion_views.documents_status, name="documents-status"),
    path("documents/<str:document_id>/", ingestion_views.document_detail, name="document"),
    path("documents/<str:document_id>/delete", ingestion_views.document_remove, name="document-delete"),
    path("review/", ingestion_views.review_list, name="review"),
    path("review/<str:document_id>/", ingestion_views.review_document, name="review-document"),
    path("review/<str:document_id>/release", ingestion_views.review_release_view, name="review-release"),
    path("ask/", retrieval_views.ask, name="ask"),
    path("ask/feedback", retrieval_views.ask_feedback, name="ask-feedback"),
    path("ask/<str:conversation_id>/delete", retrieval_views.ask_delete, name="ask-delete"),
    path("tenant", views.switch_tenant, name="switch-tenant"),
    path("tenant/", access_views.tenant_page, name="tenant"),
    path("tenant/members/add", access_views.member_add_view, name="tenant-member-add"),
    path("tenant/members/<str:member_id>/role", access_views.member_role_view, name="tenant-member-role"),
    path("tenant/members/<str:member_id>/remove", access_views.member_remove_view, name="tenant-member-remove"),
    path("tenant/tokens/create", access_views.token_create_view, name="tenant-token-create"),
    path("tenant/tokens/<str:token_id>/revoke", access_views.token_revoke_view, name="tenant-token-revoke"),
]

urlpatterns = [
    path("api/v1/", include((api_v1, "api"))),
    path("v1/", include((openai_v1, "openai"))),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.health, name="health"),
    path("metrics", ingestion_metrics.metrics, name="metrics"),
    path("", include((web, "web"))),
]

admin.site.site_header = "Clean room administration"
admin.site.site_title = "Clean room"
