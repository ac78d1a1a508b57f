"""Tenant self-service: a tenant's admins manage its members and API tokens (REST API, /api/v1/tenant/...).

The audited operations below are the ones the web page (cleanroom/access/views.py) uses too: the tenants package
cannot write the audit trail itself (cleanroom.audit imports it), so the change and its audit entry are committed
together here. The audit gets user ids, roles and a key's prefix, never a username (personal data) or a key."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cleanroom.access.permissions import IsTenantAdmin
from cleanroom.access.resolution import pinned_membership, request_actor, request_tenant
from cleanroom.api import Pagination, error_response, paginated
from cleanroom.audit.services import audit_record
from cleanroom.errors import ServiceError
from cleanroom.tenants.models import ApiToken, Membership, Role, Scope, Tenant
from cleanroom.tenants.selectors import tenant_member_get, tenant_member_list, tenant_token_get, tenant_token_list
from cleanroom.tenants.services import (
    TOKEN_MAX_EXPIRY_DAYS,
    api_token_create,
    api_token_revoke,
    membership_add,
    membership_remove,
    membership_role_change,
)

# --- Audited operations (API and web page) ---


def member_add(*, tenant: Tenant, actor: User | None, username: str, role: str) -> Membership:
    with transaction.atomic():
        membership = membership_add(tenant=tenant, username=username, role=role, actor=actor)
        audit_record(
            tenant=tenant,
            actor=actor,
            action="membership.added",
            target=membership,
            details={"user_id": membership.user_id, "role": role},
        )
    return membership


def member_role_set(*, tenant: Tenant, actor: User | None, membership: Membership, role: str) -> Membership:
    with transaction.atomic():
        previous = membership_role_change(membership=membership, role=role)
        if previous != membership.role:
            audit_record(
                tenant=tenant,
                actor=actor,
                action="membership.role_changed",
                target=membership,
                details={
                    "user_id": membership.user_id,
                    "from": previous,
                    "to": membership.role,
                },
            )
    return membership


def member_remove(*, tenant: Tenant, actor: User | None, membership: Membership) -> None:
    with transaction.atomic():
        # Recorded first: the membership has no id once deleted. Either both happen or neither.
        audit_record(
            tenant=tenant,
            actor=actor,
            action="membership.removed",
            target=membership,
            details={
                "user_id": membership.user_id,
                "role": membership.role,
            },
        )
        membership_remove(membership=membership)


def token_create(
    *,
    tenant: Tenant,
    actor: User | None,
    membership: Membership,
    name: str,
    expires_in_days: int | None,
    scopes: list[str] | None = None,
) -> tuple[ApiToken, str]:
    with transaction.atomic():
        token, key = api_token_create(membership=membership, name=name, expires_in_days=expires_in_days, scopes=scopes)
        audit_record(
            tenant=tenant,
            actor=actor,
            action="api_token.created",
            target=token,
            details={
                "name": token.name,
                "key_prefix": token.key_prefix,
                "owner_id": membership.user_id,
                "expires_at": token.expires_at.isoformat() if token.expires_at else None,
                "scopes": token.scopes,
            },
        )
    return token, key


def token_revoke(*, tenant: Tenant, actor: User | None, token: ApiToken) -> None:
    with transaction.atomic():
        if api_token_revoke(token=token):
            audit_record(
                tenant=tenant,
                actor=actor,
                action="api_token.revoked",
                target=token,
                details={
                    "name": token.name,
                    "key_prefix": token.key_prefix,
                    "owner_id": token.membership.user_id,
                },
            )


# --- Serializers ---


class MemberOutputSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    since = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "since"]


class MemberAddSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, help_text="An existing user; self-service never creates users.")
    role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)


class MemberChangeSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class TokenOutputSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="membership.user.username", read_only=True)
    revoked = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "key_prefix",
            "owner",
            "created_at",
            "expires_at",
            "scopes",
            "last_used_at",
            "revoked_at",
            "revoked",
        ]

    def get_revoked(self, token: ApiToken) -> bool:
        return token.revoked_at is not None


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, default="api")
    expires_in_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=TOKEN_MAX_EXPIRY_DAYS,
        help_text="The key stops working after this many days; omitted or null: never.",
    )
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=Scope.choices),
        required=False,
        allow_empty=False,
        help_text="What the key may do within your role; omitted: every scope but `reveal`, which is only given "
        "when asked for (and still needs the reveal permission).",
    )


class TokenCreatedSerializer(TokenOutputSerializer):
    key = serializers.CharField(read_only=True, help_text="The API key. Shown this once: only its hash is stored.")

    class Meta(TokenOutputSerializer.Meta):
        fields = [*TokenOutputSerializer.Meta.fields, "key"]


def _not_found() -> ServiceError:
    return ServiceError("not_found", "No such object.", status_code=404)


def _member(request: Request, member_id: str) -> Membership:
    membership = tenant_member_get(tenant=request_tenant(request), membership_id=member_id)
    if membership is None:
        raise _not_found()
    return membership


def _token(request: Request, token_id: str) -> ApiToken:
    token = tenant_token_get(tenant=request_tenant(request), token_id=token_id)
    if token is None:
        raise _not_found()
    return token


# --- Views ---


class TenantMemberListApi(APIView):
    permission_classes = [IsTenantAdmin]

    @extend_schema(
        operation_id="api_v1_tenant_members_list", responses=paginated(MemberOutputSerializer, "PaginatedMembers")
    )
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(tenant_member_list(tenant=request_tenant(request)), request)
        return paginator.get_paginated_response(MemberOutputSerializer(page, many=True).data)

    @extend_schema(
        request=MemberAddSerializer,
        responses={201: MemberOutputSerializer},
        description="404 `no_such_user`: there is no such user (self-service never creates users). "
        "409 `already_member`: the user already is a member; change their role instead.",
    )
    def post(self, request: Request) -> Response:
        serializer = MemberAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            membership = member_add(
                tenant=request_tenant(request),
                actor=request_actor(request),
                username=serializer.validated_data["username"],
                role=serializer.validated_data["role"],
            )
        except ServiceError as exc:
            if exc.code == "no_such_user":  # the shared handler would say only "No such object."
                return error_response(exc.code, exc.message, exc.status_code)
            raise
        return Response(MemberOutputSerializer(membership).data, status=status.HTTP_201_CREATED)


class TenantMemberDetailApi(APIView):
    permission_classes = [IsTenantAdmin]

    @extend_schema(responses=MemberOutputSerializer)
    def get(self, request: Request, member_id: str) -> Response:
        return Response(MemberOutputSerializer(_member(request, member_id)).data)

    @extend_schema(
        request=MemberChangeSerializer,
        responses=MemberOutputSerializer,
        description="409 `last_admin`: the tenant's last admin cannot be demoted.",
    )
    def patch(self, request: Request, member_id: str) -> Response:
        membership = _member(request, member_id)
        serializer = MemberChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member_role_set(
            tenant=request_tenant(request),
            actor=request_actor(request),
            membership=membership,
            role=serializer.validated_data["role"],
        )
        return Response(MemberOutputSerializer(membership).data)

    @extend_schema(responses={204: None}, description="409 `last_admin`: the tenant's last admin cannot be removed.")
    def delete(self, request: Request, member_id: str) -> Response:
        member_remove(
            tenant=request_tenant(request), actor=request_actor(request), membership=_member(request, member_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class TenantTokenListApi(APIView):
    permission_classes = [IsTenantAdmin]

    @extend_schema(
        operation_id="api_v1_tenant_tokens_list", responses=paginated(TokenOutputSerializer, "PaginatedTokens")
    )
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(tenant_token_list(tenant=request_tenant(request)), request)
        return paginator.get_paginated_response(TokenOutputSerializer(page, many=True).data)

    @extend_schema(
        request=TokenCreateSerializer,
        responses={201: TokenCreatedSerializer},
        description="A new token of the calling admin's. `key` is in this response only: it cannot be shown again.",
    )
    def post(self, request: Request) -> Response:
        serializer = TokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, key = token_create(
            tenant=request_tenant(request),
            actor=request_actor(request),
            membership=pinned_membership(request),
            name=serializer.validated_data["name"],
            expires_in_days=serializer.validated_data.get("expires_in_days"),
            scopes=serializer.validated_data.get("scopes"),
        )
        token.key = key  # type: ignore[attr-defined]  # for the serializer, this response only
        response = Response(TokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class TenantTokenDetailApi(APIView):
    permission_classes = [IsTenantAdmin]

    @extend_schema(responses=TokenOutputSerializer)
    def get(self, request: Request, token_id: str) -> Response:
        return Response(TokenOutputSerializer(_token(request, token_id)).data)

    @extend_schema(
        responses={204: None},
        description="Revoke the token (it stays listed, with `revoked_at`). Revoking twice is harmless.",
    )
    def delete(self, request: Request, token_id: str) -> Response:
        token_revoke(tenant=request_tenant(request), actor=request_actor(request), token=_token(request, token_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
