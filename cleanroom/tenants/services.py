from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cleanroom.errors import ServiceError
from cleanroom.tenants.models import ApiToken, Membership, Role, Scope, Tenant, default_scopes, hash_token_key

# The longest expiry a token created by self-service may have, in days (ten years).
TOKEN_MAX_EXPIRY_DAYS = 3650


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


def api_token_create(
    *,
    membership: Membership,
    name: str = "api",
    expires_in_days: int | None = None,
    scopes: Sequence[str] | None = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its plain key, which is never stored and cannot be shown again.
    `expires_in_days`: the key stops working after that many days; None: it never expires. `scopes`: what it may
    do within its owner's role; None: everything the role allows except revealing pseudonyms."""
    scopes = default_scopes() if scopes is None else sorted(set(scopes), key=Scope.values.index)
    if not scopes or not set(scopes) <= set(Scope.values):
        raise ServiceError(
            "invalid_input", f"scopes must be a non-empty list of {', '.join(Scope.values)}.", status_code=400
        )
    if expires_in_days is not None and not 1 <= expires_in_days <= TOKEN_MAX_EXPIRY_DAYS:
        raise ServiceError(
            "invalid_input", f"expires_in_days must be between 1 and {TOKEN_MAX_EXPIRY_DAYS}.", status_code=400
        )
    key = ApiToken.generate_key()
    token = ApiToken.objects.create(
        membership=membership,
        name=name,
        key_prefix=key[: len(ApiToken.PREFIX) + 4],
        key_hash=hash_token_key(key),
        expires_at=timezone.now() + timedelta(days=expires_in_days) if expires_in_days is not None else None,
        scopes=scopes,
    )
    return token, key


def api_token_revoke(*, token: ApiToken) -> bool:
    """Revoke the token; False when it already was."""
    now = timezone.now()
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now) > 0
    if revoked:
        token.revoked_at = now
    return revoked


# Self-service: a tenant's admins manage its members (the access layer checks the role and writes the audit).


def _role_checked(role: str) -> str:
    if role not in Role.values:
        raise ServiceError("invalid_input", f"role must be one of {', '.join(Role.values)}.", status_code=400)
    return role


def _guard_last_admin(membership: Membership) -> None:
    """Refuse to take the admin role from the tenant's last admin. Locks the tenant's admin rows so that two
    admins demoting each other at once cannot both succeed (call inside a transaction)."""
    admins = list(
        Membership.objects.select_for_update()
        .filter(tenant_id=membership.tenant_id, role=Role.ADMIN)
        .values_list("pk", flat=True)
    )
    if membership.pk in admins and not any(pk != membership.pk for pk in admins):
        raise ServiceError(
            "last_admin",
            "This is the tenant's last admin: make another member admin first.",
            status_code=409,
        )


@transaction.atomic
def _addable_by(user: User, actor: User | None) -> bool:
    """A tenant admin may add a user who belongs to no tenant yet (an account the operator made for them) or only
    to tenants the admin administers too. A user of any other tenant is not theirs to enrol (nor to learn about):
    the operator adds them (Django admin), or an admin of both tenants."""
    if actor is None or actor.is_superuser:
        return True
    administered = Membership.objects.filter(user=actor, role=Role.ADMIN).values("tenant_id")
    return not Membership.objects.filter(user=user).exclude(tenant_id__in=administered).exists()


def membership_add(*, tenant: Tenant, username: str, role: str, actor: User | None = None) -> Membership:
    """Make an existing user a member of `tenant`, on behalf of `actor` (None: the operator). Never creates
    users. A user the actor may not add answers exactly like an unknown one."""
    _role_checked(role)
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None or not _addable_by(user, actor):
        raise ServiceError("no_such_user", "No such user, or not one you can add.", status_code=404)
    if Membership.objects.filter(user=user, tenant=tenant).exists():
        raise ServiceError("already_member", f"{username!r} is already a member of this tenant.", status_code=409)
    return Membership.objects.create(user=user, tenant=tenant, role=role)


@transaction.atomic
def membership_role_change(*, membership: Membership, role: str) -> str:
    """Change the member's role; returns the previous one."""
    _role_checked(role)
    previous = membership.role
    if role != previous:
        if role != Role.ADMIN:
            _guard_last_admin(membership)
        membership.role = role
        membership.save(update_fields=["role"])
    return previous


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Remove the member from the tenant; their tokens for it go with the membership."""
    _guard_last_admin(membership)
    membership.delete()


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
        "denyterm": ("view", "add", "change", "delete"),
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
