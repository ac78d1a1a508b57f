from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.utils import timezone

from cleanroom.tenants.models import ApiToken, Membership, Role, Tenant, hash_token_key


def tenant_get_or_create(*, slug: str, name: str | None = None, home_region: str | None = None) -> Tenant:
    tenant, _ = Tenant.objects.get_or_create(
        slug=slug,
        defaults={
            "name": name or slug.replace("-", " ").title(),
            "home_region": home_region or settings.CLEANROOM_REGION,
        },
    )
    return tenant


def membership_set(*, user: AbstractUser, tenant: Tenant, role: str) -> Membership:
    membership, created = Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": role})
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def api_token_create(*, membership: Membership, name: str = "api") -> tuple[ApiToken, str]:
    """Create a token and return it with its plain key, which is never stored and cannot be shown again."""
    key = ApiToken.generate_key()
    token = ApiToken.objects.create(
        membership=membership,
        name=name,
        key_prefix=key[: len(ApiToken.PREFIX) + 4],
        key_hash=hash_token_key(key),
    )
    return token, key


def api_token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


@transaction.atomic
def tenant_bootstrap(
    *, slug: str, username: str, role: str, password: str | None = None, staff: bool = False
) -> tuple[Membership, str, bool]:
    """Create whatever is missing of tenant, user and membership; return the membership, a new API key and
    whether the user was created (its password is only set then, or when one is given)."""
    if role not in Role.values:
        raise ValueError(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}")
    try:
        validate_slug(slug)
    except ValidationError as exc:
        raise ValueError(f"{slug!r} is not a valid tenant slug: use letters, digits, hyphens, underscores") from exc
    tenant = tenant_get_or_create(slug=slug)
    user_model = get_user_model()
    user, user_created = user_model.objects.get_or_create(username=username)
    if user_created or password:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
    if staff and not user.is_staff:
        user.is_staff = True
        user.is_superuser = True
    user.save()
    membership = membership_set(user=user, tenant=tenant, role=role)
    _, key = api_token_create(membership=membership, name="bootstrap")
    return membership, key, user_created
