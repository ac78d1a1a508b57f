from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet
from django.utils import timezone

from cleanroom.tenants.models import ApiToken, Membership, Tenant, hash_token_key


def api_token_authenticate(*, key: str) -> ApiToken | None:
    """The token of `key`, unless it is unknown, revoked, expired or its user is deactivated."""
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("membership__user", "membership__tenant")
        .filter(key_hash=hash_token_key(key), revoked_at__isnull=True, membership__user__is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )
    if token is not None:
        # Throttle the write: a busy client should not turn every read into an UPDATE.
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def membership_list(*, user: User | AnonymousUser) -> QuerySet[Membership]:
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.select_related("tenant").filter(user=user).order_by("tenant__slug")


def membership_for(*, user: User | AnonymousUser, tenant_id: int | None) -> Membership | None:
    """The user's membership of `tenant_id`, or of their first tenant when none is chosen yet."""
    memberships = membership_list(user=user)
    if tenant_id is not None:
        chosen = memberships.filter(tenant_id=tenant_id).first()
        if chosen is not None:
            return chosen
    return memberships.first()


def tenant_get(*, slug: str) -> Tenant | None:
    return Tenant.objects.filter(slug=slug).first()


def _pk(value: int | str) -> int | None:
    text = str(value)
    return int(text) if text.isdigit() and len(text) < 19 else None


def tenant_member_list(*, tenant: Tenant) -> QuerySet[Membership]:
    return Membership.objects.select_related("user", "tenant").filter(tenant=tenant).order_by("user__username")


def tenant_member_get(*, tenant: Tenant, membership_id: int | str) -> Membership | None:
    """The tenant's membership `membership_id`; None when it is missing or another tenant's (alike)."""
    pk = _pk(membership_id)
    return None if pk is None else tenant_member_list(tenant=tenant).filter(pk=pk).first()


def tenant_token_list(*, tenant: Tenant) -> QuerySet[ApiToken]:
    return (
        ApiToken.objects.select_related("membership__user", "membership__tenant")
        .filter(membership__tenant=tenant)
        .order_by("-created_at", "-pk")
    )


def tenant_token_get(*, tenant: Tenant, token_id: int | str) -> ApiToken | None:
    """The tenant's token `token_id`; None when it is missing or another tenant's (alike)."""
    pk = _pk(token_id)
    return None if pk is None else tenant_token_list(tenant=tenant).filter(pk=pk).first()
