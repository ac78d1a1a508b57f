from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.utils import timezone

from cleanroom.tenants.models import ApiToken, Membership, Tenant, hash_token_key


def api_token_authenticate(*, key: str) -> ApiToken | None:
    token = (
        ApiToken.objects.select_related("membership__user", "membership__tenant")
        .filter(key_hash=hash_token_key(key), revoked_at__isnull=True, membership__user__is_active=True)
        .first()
    )
    if token is not None:
        now = timezone.now()
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
