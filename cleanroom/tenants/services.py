from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.db.models import Q
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


def membership_set(*, user: User, tenant: Tenant, role: str) -> Membership:
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


TENANT_ADMIN_GROUP = "Tenant administrators"

# What a tenant administrator may do in Django admin, by app label, model and action (the admin scopes every row to
# their tenants). Named by strings: the core must not import the apps. Not here, on purpose:
# `vault.reveal_pseudonym` (an explicit, per-person grant), anything of `auth` (a user editor could make anyone a
# superuser), adding or deleting tenants (a platform operator's job), and changing documents or chunks (they arrive
# through upload, which redacts them, and leave through the API or erasure, which audit it).
TENANT_ADMIN_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "tenants": {
        "tenant": ("view",),
        "membership": ("view", "add", "change", "delete"),
        "apitoken": ("view", "change"),  # inspect and revoke
    },
    "policies": {
        "residencyrule": ("view", "add", "change", "delete"),
        "entityrule": ("view", "add", "change", "delete"),
        "allowterm": ("view", "add", "change", "delete"),
        "customrecognizer": ("view", "add", "change", "delete"),
    },
    "audit": {"auditevent": ("view",)},
    "vault": {"vaultentry": ("view",), "erasurereceipt": ("view", "add")},  # adding an erasure runs it
    "ingestion": {"document": ("view",), "chunk": ("view",)},
}


def tenant_admin_group() -> Group:
    """Create or refresh the "Tenant administrators" group: exactly the permissions above, nothing more."""
    group, _ = Group.objects.get_or_create(name=TENANT_ADMIN_GROUP)
    condition = Q(pk__in=[])
    for app_label, models in TENANT_ADMIN_PERMISSIONS.items():
        for model, actions in models.items():
            condition |= Q(
                content_type__app_label=app_label,
                content_type__model=model,
                codename__in=[f"{action}_{model}" for action in actions],
            )
    permissions = list(Permission.objects.filter(condition))
    expected = sum(len(actions) for models in TENANT_ADMIN_PERMISSIONS.values() for actions in models.values())
    if len(permissions) != expected:  # a renamed model, or permissions not created yet
        raise ValueError(
            f"Found {len(permissions)} of the {expected} permissions of {TENANT_ADMIN_GROUP!r}: run "
            "`python manage.py migrate` first"
        )
    group.permissions.set(permissions)
    return group


@transaction.atomic
def tenant_bootstrap(
    *,
    slug: str,
    username: str,
    role: str,
    password: str | None = None,
    staff: bool = False,
    operator: bool = False,
) -> tuple[Membership, str, bool]:
    """Create whatever is missing of tenant, user and membership; return the membership, a new API key and
    whether the user was created (its password is only set then, or when one is given).

    `staff`: the user administers this tenant in Django admin (needs the admin role): staff status and the "Tenant
    administrators" group, never superuser; the admin shows them only the tenants they administer. `operator`: a
    platform operator, a superuser who sees every tenant. Neither takes a status away from an existing user."""
    if role not in Role.values:
        raise ValueError(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}")
    if staff and role != Role.ADMIN:
        raise ValueError("--staff needs --role admin: Django admin is for the tenant's administrators")
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
    if staff or operator:
        user.is_staff = True
    if operator:
        user.is_superuser = True
    user.save()
    if staff:
        user.groups.add(tenant_admin_group())
    membership = membership_set(user=user, tenant=tenant, role=role)
    _, key = api_token_create(membership=membership, name="bootstrap")
    return membership, key, user_created
